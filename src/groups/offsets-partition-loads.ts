/**
 * Which partitions of `__consumer_offsets` the group coordinator serves, and
 * whether each is loaded (its committed offsets read back into memory).
 *
 * On a single node every partition is loaded once at open and stays so. In a
 * cluster a partition is served only while this broker leads it: a load
 * starts when it becomes leader (under a leader epoch) and the partition is
 * dropped when leadership moves away. Each load gets a fresh generation; an
 * asynchronous step (a read while loading, a commit waiting for the high
 * watermark) captures the generation before it waits and changes memory
 * afterwards only if the generation is still current, so nothing read or
 * written under an earlier leadership leaks into a later one. Owned by the
 * acceptor thread.
 */
export type OffsetsPartitionStatus = 'unowned' | 'loading' | 'loaded';

interface PartitionLoad {
  leaderEpoch: number;
  generation: number;
  loaded: boolean;
}

/** The generation of a partition that is not served: never current. */
export const NO_GENERATION = -1;

export class OffsetsPartitionLoads {
  private readonly byPartition = new Map<number, PartitionLoad>();
  private nextGeneration = 0;

  status(partition: number): OffsetsPartitionStatus {
    const load = this.byPartition.get(partition);
    if (load === undefined) return 'unowned';
    return load.loaded ? 'loaded' : 'loading';
  }

  /** Whether the partition is served (loading or loaded) under this leader epoch. */
  servesAt(partition: number, leaderEpoch: number): boolean {
    return this.byPartition.get(partition)?.leaderEpoch === leaderEpoch;
  }

  /** Starts serving the partition under `leaderEpoch` (not loaded yet); returns the new load's generation. */
  begin(partition: number, leaderEpoch: number): number {
    const generation = this.nextGeneration++;
    this.byPartition.set(partition, { leaderEpoch, generation, loaded: false });
    return generation;
  }

  /** Marks the load of `generation` complete; false when the partition has moved on since. */
  finish(partition: number, generation: number): boolean {
    const load = this.byPartition.get(partition);
    if (load === undefined || load.generation !== generation) return false;
    load.loaded = true;
    return true;
  }

  /** Stops serving the partition; true when it was served. */
  end(partition: number): boolean {
    return this.byPartition.delete(partition);
  }

  /** Stops serving every partition. */
  endAll(): void {
    this.byPartition.clear();
  }

  /** The current generation of a served partition, or NO_GENERATION. */
  generationOf(partition: number): number {
    return this.byPartition.get(partition)?.generation ?? NO_GENERATION;
  }

  isCurrent(partition: number, generation: number): boolean {
    return generation !== NO_GENERATION && this.byPartition.get(partition)?.generation === generation;
  }
}
