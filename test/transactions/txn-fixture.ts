import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { type Engine, produceFailure } from '../../src/engine/engine-api.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { TransactionCoordinator } from '../../src/transactions/transaction-coordinator.js';
import type { TxnMarker } from '../../src/transactions/transaction-markers.js';
import { MemoryEngine } from '../support/memory-engine.js';

/**
 * Pieces the transaction coordinator tests share: a marker writer that records
 * what reached each partition (and can be told to fail or hang), and a
 * coordinator with a real group coordinator over one MemoryEngine, reopened
 * over the same engine to stand for a restart.
 */
export class RecordingMarkers {
  readonly written: TxnMarker[] = [];
  /** While set, every marker answers this code (a partition offline, a storage error). */
  failWith: KafkaErrorCode | null = null;
  /** While true, markers never answer (a broker about to crash); a restart clears it. */
  hang = false;
  /** Told of each marker that landed (a test's simulated partitions). */
  onWritten: (marker: TxnMarker) => void = () => undefined;

  readonly write = async (marker: TxnMarker): Promise<KafkaErrorCode> => {
    if (this.hang) return new Promise<KafkaErrorCode>(() => undefined);
    if (this.failWith !== null) return this.failWith;
    this.written.push(marker);
    this.onWritten(marker);
    return KafkaErrorCode.NONE;
  };

  /** Outcomes written to a partition, in order, as 'commit'/'abort' with the producer epoch. */
  on(topic: string, partition: number): string[] {
    return this.written
      .filter((m) => m.topic === topic && m.partition === partition)
      .map((m) => `${m.commit ? 'commit' : 'abort'}@${m.producerEpoch}`);
  }
}

export interface TxnHarness {
  engine: MemoryEngine;
  markers: RecordingMarkers;
  groups: GroupCoordinator;
  coordinator: TransactionCoordinator;
  clock: { nowMs: number };
  /** Closes both coordinators and opens new ones over the same engine (the log survives). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function openTxnHarness(
  options: {
    engine?: MemoryEngine;
    maxTimeoutMs?: number;
    idExpirationMs?: number;
    clock?: { nowMs: number };
  } = {},
): Promise<TxnHarness> {
  const engine = options.engine ?? new MemoryEngine();
  const markers = new RecordingMarkers();
  const clock = options.clock ?? { nowMs: 1_000_000 };
  let incarnation = { alive: true };
  const open = async () => {
    const life = { alive: true };
    incarnation = life;
    const lived = livesWhile(engine, life);
    const groups = await GroupCoordinator.open(lived, { nowMs: () => clock.nowMs });
    const coordinator = await TransactionCoordinator.open(lived, {
      nextProducerId: () => engine.nextProducerId(),
      // A dead incarnation's marker never lands (its process is gone).
      writeMarker: (marker) =>
        life.alive ? markers.write(marker) : Promise.resolve(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER),
      offsets: groups,
      nowMs: () => clock.nowMs,
      // Expiry is driven by the tests (abortExpired), not by the timer.
      abortCheckIntervalMs: 3_600_000,
      ...(options.maxTimeoutMs === undefined ? {} : { maxTimeoutMs: options.maxTimeoutMs }),
      ...(options.idExpirationMs === undefined ? {} : { idExpirationMs: options.idExpirationMs }),
    });
    return { groups, coordinator };
  };
  const harness: TxnHarness = {
    engine,
    markers,
    clock,
    ...(await open()),
    async restart() {
      // A crash: the old incarnation writes nothing more anywhere, and nothing waits for it.
      incarnation.alive = false;
      markers.hang = false;
      void harness.coordinator.close();
      await harness.groups.close();
      const reopened = await open();
      harness.groups = reopened.groups;
      harness.coordinator = reopened.coordinator;
    },
    async close() {
      await harness.coordinator.close();
      await harness.groups.close();
    },
  };
  return harness;
}

/**
 * The engine as one incarnation of the coordinators sees it: once the
 * incarnation is dead (a crash), its writes fail, as a dead process's would
 * never land. Everything else, and every later incarnation, sees the same engine.
 */
function livesWhile(engine: MemoryEngine, life: { alive: boolean }): Engine {
  return new Proxy(engine, {
    get(target, key) {
      if (key === 'produce') {
        const produce: Engine['produce'] = (topic, partition, batch, acks) =>
          life.alive
            ? target.produce(topic, partition, batch, acks)
            : Promise.resolve(produceFailure(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, 'crashed'));
        return produce;
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
