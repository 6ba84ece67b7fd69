import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { TxnMarker } from '../../src/transactions/transaction-markers.js';
import { openTxnHarness, type TxnHarness } from './txn-fixture.js';

/**
 * Model-based test of the coordinator's state machine: random interleavings
 * of InitProducerId (fencing), AddPartitions + transactional writes,
 * AddOffsets + TxnOffsetCommit, EndTxn, time passing (timeouts) and crashes
 * (a restart over the same log, markers possibly cut off mid-way), for two
 * transactional ids. Data partitions are simulated as a shard would keep
 * them: a transactional write is refused below the producer's fenced epoch,
 * and a marker ends the producer's open transaction there.
 *
 * The checks, once everything has settled: a read_committed reader of each
 * partition sees exactly the writes of the transactions whose EndTxn(commit)
 * was acknowledged, in write order, and nothing of any other transaction;
 * each group's committed offset is the one of its last acknowledged
 * committing transaction.
 */
type Command =
  | { kind: 'init'; id: number }
  | { kind: 'write'; id: number; partition: number }
  | { kind: 'offsets'; id: number }
  | { kind: 'end'; id: number; commit: boolean }
  | { kind: 'tick'; ms: number }
  | { kind: 'settle' }
  | { kind: 'crash'; cutMarkers: boolean };

const IDS = ['a', 'b'];
const PARTITIONS = 2;
const TIMEOUT_MS = 10_000;

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('init' as const), id: fc.nat(1) }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      id: fc.nat(1),
      partition: fc.nat(PARTITIONS - 1),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant('offsets' as const), id: fc.nat(1) }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('end' as const), id: fc.nat(1), commit: fc.boolean() }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(1_000, 6_000, 11_000) }),
    weight: 1,
  },
  { arbitrary: fc.constant({ kind: 'settle' as const }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('crash' as const), cutMarkers: fc.boolean() }), weight: 1 },
);

interface Entry {
  producerId: number;
  /** A write: the transaction it belongs to; a marker: undefined. */
  txn?: string;
  commit?: boolean;
}

/** A data partition as its shard keeps it: entries in log order, and each producer's fenced epoch. */
class SimulatedPartition {
  readonly entries: Entry[] = [];
  private readonly epochs = new Map<number, number>();

  write(producerId: number, epoch: number, txn: string): boolean {
    if (epoch < (this.epochs.get(producerId) ?? -1)) return false;
    this.epochs.set(producerId, epoch);
    this.entries.push({ producerId, txn });
    return true;
  }

  mark(marker: TxnMarker): void {
    this.epochs.set(
      marker.producerId,
      Math.max(marker.producerEpoch, this.epochs.get(marker.producerId) ?? -1),
    );
    this.entries.push({ producerId: marker.producerId, commit: marker.commit });
  }

  /**
   * What a read_committed reader sees once every transaction ended: the writes whose producer's
   * next marker is a COMMIT, in log order (the LSO holds the reader back until each is decided).
   */
  readCommitted(): string[] {
    const committed = new Set<number>();
    const open = new Map<number, number[]>();
    this.entries.forEach((entry, index) => {
      if (entry.txn !== undefined) {
        const list = open.get(entry.producerId) ?? [];
        list.push(index);
        open.set(entry.producerId, list);
        return;
      }
      if (entry.commit === true) for (const at of open.get(entry.producerId) ?? []) committed.add(at);
      open.delete(entry.producerId);
    });
    return this.entries.filter((_, index) => committed.has(index)).map((entry) => entry.txn!);
  }

  /** Writes with no marker after them (a transaction left open): must be none once all settled. */
  openWrites(): number {
    const open = new Map<number, number>();
    for (const entry of this.entries) {
      if (entry.txn !== undefined) open.set(entry.producerId, (open.get(entry.producerId) ?? 0) + 1);
      else open.delete(entry.producerId);
    }
    let count = 0;
    for (const n of open.values()) count += n;
    return count;
  }
}

interface Client {
  producerId: number;
  epoch: number;
  /** Number of the client's current transaction (its writes are tagged with it). */
  txn: number;
  /** Writes of the current transaction, by partition, in order. */
  writes: { partition: number; tag: string }[];
  /** Offset the current transaction committed for its group, if any. */
  offset: number | null;
}

/** What the runs did, so the test can show it exercised commits at all. */
const stats = { committed: 0, writes: 0 };

async function run(commands: readonly Command[]): Promise<void> {
  const h: TxnHarness = await openTxnHarness();
  try {
    await h.engine.createTopic('out', PARTITIONS);
    await h.engine.createTopic('in', 1);
    const partitions = Array.from({ length: PARTITIONS }, () => new SimulatedPartition());
    // Markers reach the simulated partitions (and the recording, which the harness keeps).
    h.markers.onWritten = (marker) => {
      if (marker.topic === 'out') partitions[marker.partition]!.mark(marker);
    };
    const clients = new Map<number, Client>();
    const committedTags = new Set<string>();
    const expectedOffset = new Map<number, number>();
    let nextOffset = 1;
    const producerOf = (id: number, client: Client) => ({
      transactionalId: IDS[id]!,
      producerId: client.producerId,
      producerEpoch: client.epoch,
    });

    async function init(id: number): Promise<void> {
      const result = await h.coordinator.initProducerId({
        transactionalId: IDS[id]!,
        transactionTimeoutMs: TIMEOUT_MS,
        producerId: -1,
        producerEpoch: -1,
      });
      if (result.errorCode === KafkaErrorCode.NONE) {
        const before = clients.get(id);
        clients.set(id, {
          producerId: result.producerId,
          epoch: result.producerEpoch,
          txn: (before?.txn ?? 0) + 1,
          writes: [],
          offset: null,
        });
      } else {
        expect([KafkaErrorCode.CONCURRENT_TRANSACTIONS, KafkaErrorCode.COORDINATOR_NOT_AVAILABLE]).toContain(
          result.errorCode,
        );
      }
    }
    /** A fenced client is done (its transaction is aborted); the id's next command starts a new one. */
    function forgetIfFenced(id: number, code: KafkaErrorCode): void {
      if (code === KafkaErrorCode.PRODUCER_FENCED) clients.delete(id);
    }
    /** The client of an id, started with an InitProducerId when it has none yet. */
    async function clientOf(id: number): Promise<Client | undefined> {
      if (!clients.has(id)) await init(id);
      return clients.get(id);
    }

    for (const step of commands) {
      switch (step.kind) {
        case 'init':
          await init(step.id);
          break;
        case 'write': {
          const client = await clientOf(step.id);
          if (client === undefined) break;
          const added = await h.coordinator.addPartitions(producerOf(step.id, client), [
            { topic: 'out', partition: step.partition },
          ]);
          if (added !== KafkaErrorCode.NONE) {
            forgetIfFenced(step.id, added);
            break;
          }
          const tag = `${IDS[step.id]}:${client.producerId}:${client.epoch}:${client.txn}`;
          if (partitions[step.partition]!.write(client.producerId, client.epoch, tag))
            client.writes.push({ partition: step.partition, tag });
          break;
        }
        case 'offsets': {
          const client = await clientOf(step.id);
          if (client === undefined) break;
          const producer = producerOf(step.id, client);
          const joined = await h.coordinator.addOffsets(producer, `g${step.id}`);
          if (joined !== KafkaErrorCode.NONE) {
            forgetIfFenced(step.id, joined);
            break;
          }
          const offset = nextOffset++;
          const result = await h.coordinator.commitOffsets({
            ...producer,
            groupId: `g${step.id}`,
            generationId: -1,
            memberId: '',
            groupInstanceId: null,
            topics: [{ topic: 'in', partitions: [{ partition: 0, offset, metadata: null }] }],
          });
          if (result.topics[0]!.partitions[0]!.errorCode === KafkaErrorCode.NONE) client.offset = offset;
          break;
        }
        case 'end': {
          const client = await clientOf(step.id);
          if (client === undefined) break;
          const code = await h.coordinator.endTransaction(producerOf(step.id, client), step.commit);
          forgetIfFenced(step.id, code);
          if (code === KafkaErrorCode.NONE) {
            if (step.commit) {
              for (const write of client.writes) committedTags.add(write.tag);
              if (client.offset !== null) expectedOffset.set(step.id, client.offset);
            }
            client.txn++;
            client.writes = [];
            client.offset = null;
          }
          break;
        }
        case 'tick':
          h.clock.nowMs += step.ms;
          h.coordinator.abortExpired();
          break;
        case 'settle':
          await h.coordinator.settled();
          break;
        case 'crash':
          // Markers not yet written are cut off by the crash (the old incarnation writes nothing more).
          h.markers.hang = step.cutMarkers;
          await h.restart();
          break;
      }
    }
    // Let everything end: completions resume, then every transaction left open times out.
    await h.coordinator.settled();
    h.clock.nowMs += TIMEOUT_MS + 1;
    h.coordinator.abortExpired();
    await h.coordinator.settled();

    stats.committed += committedTags.size;
    stats.writes += partitions.reduce(
      (sum, p) => sum + p.entries.filter((e) => e.txn !== undefined).length,
      0,
    );
    for (const partition of partitions) {
      expect(partition.openWrites()).toBe(0);
      const expected = partition.entries
        .filter((e) => e.txn !== undefined && committedTags.has(e.txn))
        .map((e) => e.txn);
      expect(partition.readCommitted()).toEqual(expected);
    }
    for (let id = 0; id < IDS.length; id++) {
      const fetched = await h.groups.fetchOffsets({
        groupId: `g${id}`,
        topics: [{ topic: 'in', partitions: [0] }],
      });
      expect(fetched.topics[0]!.partitions[0]!.offset).toBe(expectedOffset.get(id) ?? -1);
    }
  } finally {
    await h.close();
  }
}

describe('transaction coordinator model', () => {
  it('given random interleavings with fencing, timeouts and crashes, read_committed sees exactly the committed transactions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 15, maxLength: 50 }), (commands) => run(commands)),
      { numRuns: Number(process.env.PYRALOG_TXN_MODEL_RUNS ?? 60) },
    );
    // The runs wrote and committed transactions, rather than passing on empty histories.
    expect(stats.writes).toBeGreaterThan(100);
    expect(stats.committed).toBeGreaterThan(20);
  });
});
