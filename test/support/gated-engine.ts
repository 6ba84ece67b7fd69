import type { Acks, ProduceOutcome } from '../../src/engine/engine-api.js';
import { MemoryEngine } from './memory-engine.js';

/**
 * A MemoryEngine that appends at once but, while `hold` is set, keeps each
 * produce's answer back until `release()`: for tests of what a front door or
 * the group coordinator does while a produce is in flight.
 */
export class GatedEngine extends MemoryEngine {
  hold = false;
  private readonly held: (() => void)[] = [];

  override async produce(
    topic: string,
    partition: number,
    batch: Uint8Array,
    acks: Acks,
  ): Promise<ProduceOutcome> {
    const outcome = await super.produce(topic, partition, batch, acks);
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    return outcome;
  }

  /** Stops holding and answers every produce held so far. */
  release(): void {
    this.hold = false;
    for (const resolve of this.held.splice(0)) resolve();
  }
}
