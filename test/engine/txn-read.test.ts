import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { type Offset, readInt64 } from '../../src/common/offset.js';
import type { FetchPartitionOutcome, IsolationLevel } from '../../src/engine/engine-api.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { maskAbortedBatches } from '../../src/record/aborted-batches.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { nextBatchBytes } from '../../src/record/batch-walk.js';
import { isControlBatch } from '../../src/record/control-batch.js';
import { scopedTestEngines } from '../support/engine-fixture.js';

/**
 * The partition side of transactions through the sharded engine (real shard
 * threads): transactional batches, markers, the last stable offset,
 * read_committed fetches with their aborted transactions, ListOffsets by
 * isolation, and the same state after a clean restart and after a shard
 * worker dies (no clean close: recovery rescans).
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Producer {
  private sequence = 0;
  constructor(
    readonly producerId: number,
    readonly epoch = 0,
  ) {}

  batch(values: string[], transactional = true): Uint8Array {
    const batch = buildRecordBatch(
      values.map((value) => ({ key: null, value: encoder.encode(value) })),
      { producerId: this.producerId, producerEpoch: this.epoch, baseSequence: this.sequence, transactional },
    );
    this.sequence += values.length;
    return batch;
  }
}

async function fetchAt(
  engine: ShardedEngine,
  topic: string,
  offset: number,
  isolationLevel: IsolationLevel,
): Promise<FetchPartitionOutcome> {
  const outcome = await engine.fetch({
    isolationLevel,
    partitions: [{ topic, partition: 0, offset: offset as Offset, maxBytes: 1 << 20 }],
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
  });
  return outcome.partitions[0]!;
}

/** The values a read_committed consumer sees from offset 0, as a Kafka consumer filters them. */
async function committedValues(engine: ShardedEngine, topic: string): Promise<string[]> {
  const part = await fetchAt(engine, topic, 0, 1);
  expect(part.errorCode).toBe(KafkaErrorCode.NONE);
  return decodeRecordSet(maskAbortedBatches(part.records, part.abortedTransactions)).map((record) =>
    decoder.decode(record.value!),
  );
}

function controlBatchCount(records: Uint8Array): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let count = 0;
  for (let position = 0; position < records.length; ) {
    const size = nextBatchBytes(view, position, records.length);
    if (size < 0) break;
    if (isControlBatch(view, position)) count++;
    position += size;
  }
  return count;
}

function lastBaseOffset(records: Uint8Array): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let base = -1;
  for (let position = 0; position < records.length; ) {
    const size = nextBatchBytes(view, position, records.length);
    if (size < 0) break;
    base = readInt64(view, position + BatchHeader.BASE_OFFSET);
    position += size;
  }
  return base;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('transactions on the partition side', () => {
  const engines = scopedTestEngines('txn-read');

  it('given an open transaction, read_committed stops at its first offset until the COMMIT marker, then sees it all', async () => {
    const engine = await engines.start({ fsync: 'always' });
    expect(await engine.createTopic('t', 1)).toBe(KafkaErrorCode.NONE);
    const plain = buildRecordBatch([{ key: null, value: encoder.encode('p0') }]);
    expect((await engine.produce('t', 0, plain, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    const producer = new Producer(await engine.nextProducerId());
    const produced = await engine.produce('t', 0, producer.batch(['a', 'b']), -1);
    expect(produced.errorCode).toBe(KafkaErrorCode.NONE);
    expect(produced.baseOffset).toBe(1);
    expect(
      (await engine.produce('t', 0, buildRecordBatch([{ key: null, value: encoder.encode('p1') }]), -1))
        .errorCode,
    ).toBe(KafkaErrorCode.NONE);

    const uncommitted = await fetchAt(engine, 't', 0, 0);
    expect(uncommitted.highWatermark).toBe(4);
    expect(uncommitted.lastStableOffset).toBe(1);
    expect(decodeRecordSet(uncommitted.records).map((r) => decoder.decode(r.value!))).toEqual([
      'p0',
      'a',
      'b',
      'p1',
    ]);
    const committed = await fetchAt(engine, 't', 0, 1);
    expect(committed.lastStableOffset).toBe(1);
    expect(decodeRecordSet(committed.records).map((r) => decoder.decode(r.value!))).toEqual(['p0']);
    expect((await fetchAt(engine, 't', 1, 1)).records.length).toBe(0);
    expect((await engine.listOffsets('t', 0, -1, { isolationLevel: 1 })).offset).toBe(1);
    expect((await engine.listOffsets('t', 0, -1, { isolationLevel: 0 })).offset).toBe(4);

    const marker = {
      topic: 't',
      partition: 0,
      producerId: producer.producerId,
      producerEpoch: 0,
      coordinatorEpoch: 3,
    };
    expect(await engine.writeTxnMarker({ ...marker, commit: true })).toBe(KafkaErrorCode.NONE);
    const after = await fetchAt(engine, 't', 0, 1);
    expect(after.lastStableOffset).toBe(5);
    expect(after.highWatermark).toBe(5);
    expect(after.abortedTransactions).toEqual([]);
    expect(controlBatchCount(after.records)).toBe(1);
    // Control batches are never records.
    expect(decodeRecordSet(after.records).map((r) => decoder.decode(r.value!))).toEqual([
      'p0',
      'a',
      'b',
      'p1',
    ]);
    expect((await engine.listOffsets('t', 0, -1, { isolationLevel: 1 })).offset).toBe(5);

    // The same marker again (a coordinator retrying) is not appended a second time.
    expect(await engine.writeTxnMarker({ ...marker, commit: true })).toBe(KafkaErrorCode.NONE);
    expect((await engine.listOffsets('t', 0, -1, { isolationLevel: 0 })).offset).toBe(5);
  });

  it('given an aborted transaction, read_committed lists it and a consumer filtering by it sees only committed data, also after a clean restart', async () => {
    const engine = await engines.start({ fsync: 'never' });
    expect(await engine.createTopic('t', 1)).toBe(KafkaErrorCode.NONE);
    const aborting = new Producer(await engine.nextProducerId());
    const committing = new Producer(await engine.nextProducerId());
    expect((await engine.produce('t', 0, aborting.batch(['x1']), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('t', 0, committing.batch(['c1']), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('t', 0, aborting.batch(['x2']), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    const base = { topic: 't', partition: 0, producerEpoch: 0, coordinatorEpoch: 1 };
    expect(await engine.writeTxnMarker({ ...base, producerId: aborting.producerId, commit: false })).toBe(
      KafkaErrorCode.NONE,
    );
    // Offsets: x1 0, c1 1, x2 2, ABORT 3. The committing producer's transaction still holds the LSO at 1.
    const held = await fetchAt(engine, 't', 0, 1);
    expect(held.lastStableOffset).toBe(1);
    expect(held.abortedTransactions).toEqual([{ producerId: aborting.producerId, firstOffset: 0 }]);
    expect(await committedValues(engine, 't')).toEqual([]);
    expect(await engine.writeTxnMarker({ ...base, producerId: committing.producerId, commit: true })).toBe(
      KafkaErrorCode.NONE,
    );
    expect(await committedValues(engine, 't')).toEqual(['c1']);
    // read_uncommitted still shows everything but the markers.
    const all = await fetchAt(engine, 't', 0, 0);
    expect(all.abortedTransactions).toEqual([]);
    expect(decodeRecordSet(all.records).map((r) => decoder.decode(r.value!))).toEqual(['x1', 'c1', 'x2']);

    // A non-transactional batch from a producer inside a transaction is refused.
    expect((await engine.produce('t', 0, committing.batch(['c2']), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    const stray = await engine.produce('t', 0, committing.batch(['plain'], false), -1);
    expect(stray.errorCode).toBe(KafkaErrorCode.INVALID_TXN_STATE);
    expect(await engine.writeTxnMarker({ ...base, producerId: committing.producerId, commit: false })).toBe(
      KafkaErrorCode.NONE,
    );
    expect(await committedValues(engine, 't')).toEqual(['c1']);
    const before = await fetchAt(engine, 't', 0, 1);

    const restarted = await engines.restart();
    const again = await fetchAt(restarted, 't', 0, 1);
    expect(again.lastStableOffset).toBe(before.lastStableOffset);
    expect(again.abortedTransactions).toEqual(before.abortedTransactions);
    expect(await committedValues(restarted, 't')).toEqual(['c1']);
  });

  it('given a shard that dies with one transaction open and one aborted, its restarted worker rebuilds the same LSO and aborted index', async () => {
    const engine = await engines.start({ fsync: 'never' });
    expect(await engine.createTopic('t', 1, { segmentBytes: 1024 })).toBe(KafkaErrorCode.NONE);
    const aborting = new Producer(await engine.nextProducerId());
    const open = new Producer(await engine.nextProducerId());
    const values: string[] = [];
    for (let i = 0; i < 30; i++) {
      const producer = i % 3 === 0 ? aborting : i % 3 === 1 ? open : null;
      const value = `v${i}-${'x'.repeat(40)}`;
      values.push(value);
      const batch =
        producer === null
          ? buildRecordBatch([{ key: null, value: encoder.encode(value) }])
          : producer.batch([value]);
      expect((await engine.produce('t', 0, batch, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    }
    expect(
      await engine.writeTxnMarker({
        topic: 't',
        partition: 0,
        producerId: aborting.producerId,
        producerEpoch: 0,
        commit: false,
        coordinatorEpoch: 0,
      }),
    ).toBe(KafkaErrorCode.NONE);
    const before = await fetchAt(engine, 't', 0, 1);
    expect(before.lastStableOffset).toBe(1);
    expect(before.abortedTransactions).toEqual([{ producerId: aborting.producerId, firstOffset: 0 }]);

    for (const host of engine.hosts) await host.killForTest();
    await waitUntil(() => engine.hosts.every((host) => host.isReady), 10_000);
    const after = await fetchAt(engine, 't', 0, 1);
    expect(after.lastStableOffset).toBe(1);
    expect(after.abortedTransactions).toEqual(before.abortedTransactions);
    expect(lastBaseOffset((await fetchAt(engine, 't', 0, 0)).records)).toBeGreaterThanOrEqual(0);

    // Ending the open transaction moves the LSO to the end; the aborted one's data stays filtered.
    expect(
      await engine.writeTxnMarker({
        topic: 't',
        partition: 0,
        producerId: open.producerId,
        producerEpoch: 0,
        commit: true,
        coordinatorEpoch: 0,
      }),
    ).toBe(KafkaErrorCode.NONE);
    expect((await engine.listOffsets('t', 0, -1, { isolationLevel: 1 })).offset).toBe(32);
    const seen: string[] = [];
    for (let offset = 0; offset < 32; ) {
      const part = await fetchAt(engine, 't', offset, 1);
      const records = decodeRecordSet(maskAbortedBatches(part.records, part.abortedTransactions));
      for (const record of records) if (record.offset >= offset) seen.push(decoder.decode(record.value!));
      const next = lastBaseOffset(part.records);
      expect(next).toBeGreaterThanOrEqual(offset);
      offset = next + 1;
    }
    expect(seen).toEqual(values.filter((_, i) => i % 3 !== 0));
  });

  it('given a marker from an older producer epoch than the partition knows, it is refused', async () => {
    const engine = await engines.start({ fsync: 'never' });
    expect(await engine.createTopic('t', 1)).toBe(KafkaErrorCode.NONE);
    const producerId = await engine.nextProducerId();
    const current = new Producer(producerId, 2);
    expect((await engine.produce('t', 0, current.batch(['a']), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    const stale = {
      topic: 't',
      partition: 0,
      producerId,
      producerEpoch: 1,
      commit: false,
      coordinatorEpoch: 0,
    };
    expect(await engine.writeTxnMarker(stale)).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    // A newer epoch (the coordinator fencing the producer) ends the transaction and fences epoch 2.
    expect(await engine.writeTxnMarker({ ...stale, producerEpoch: 3 })).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('t', 0, current.batch(['late']), -1)).errorCode).toBe(
      KafkaErrorCode.INVALID_PRODUCER_EPOCH,
    );
    expect(await engine.writeTxnMarker({ ...stale, topic: 'nope' })).toBe(
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
  });
});
