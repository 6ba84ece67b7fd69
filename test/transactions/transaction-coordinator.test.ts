import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { produceFailure } from '../../src/engine/engine-api.js';
import { TRANSACTION_STATE_TOPIC } from '../../src/transactions/transaction-log.js';
import { TxnState } from '../../src/transactions/transaction-state.js';
import { openTxnHarness, type TxnHarness } from './txn-fixture.js';

/**
 * The transaction coordinator on its own (MemoryEngine, recorded markers, a
 * real group coordinator): producer ids and epochs, fencing, the two-phase
 * end, timeouts, transactional offsets and restarts at each state.
 */
describe('TransactionCoordinator', () => {
  const open: TxnHarness[] = [];
  afterEach(async () => {
    for (const harness of open.splice(0)) await harness.close();
  });
  async function harness(options: Parameters<typeof openTxnHarness>[0] = {}): Promise<TxnHarness> {
    const h = await openTxnHarness(options);
    open.push(h);
    await h.engine.createTopic('out', 2);
    await h.engine.createTopic('in', 1);
    return h;
  }
  const init = (h: TxnHarness, id = 'tx', timeoutMs = 60_000, producerId = -1, producerEpoch = -1) =>
    h.coordinator.initProducerId({
      transactionalId: id,
      transactionTimeoutMs: timeoutMs,
      producerId,
      producerEpoch,
    });
  const producer = (id: string, r: { producerId: number; producerEpoch: number }) => ({
    transactionalId: id,
    producerId: r.producerId,
    producerEpoch: r.producerEpoch,
  });

  it('given a new transactional id, should give a producer id at epoch 0 and bump the epoch on each InitProducerId', async () => {
    const h = await harness();
    const first = await init(h);
    expect(first).toMatchObject({ errorCode: KafkaErrorCode.NONE, producerEpoch: 0 });
    const second = await init(h);
    expect(second).toEqual({
      errorCode: KafkaErrorCode.NONE,
      producerId: first.producerId,
      producerEpoch: 1,
    });
    // The old epoch is fenced from the transactional APIs.
    expect(await h.coordinator.addPartitions(producer('tx', first), [{ topic: 'out', partition: 0 }])).toBe(
      KafkaErrorCode.PRODUCER_FENCED,
    );
    expect(h.engine.describeTopic(TRANSACTION_STATE_TOPIC)?.config.cleanupPolicy).toBe('compact');
  });

  it('given bad InitProducerId input, should refuse it with the Kafka error and store nothing', async () => {
    const h = await harness({ maxTimeoutMs: 10_000 });
    expect((await init(h, 'tx', 10_001)).errorCode).toBe(KafkaErrorCode.INVALID_TRANSACTION_TIMEOUT);
    expect((await init(h, 'tx', 0)).errorCode).toBe(KafkaErrorCode.INVALID_TRANSACTION_TIMEOUT);
    expect((await init(h, '', 1000)).errorCode).toBe(KafkaErrorCode.INVALID_REQUEST);
    expect((await init(h, 'tx', 1000, 5, 0)).errorCode).toBe(KafkaErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(h.engine.describeTopic(TRANSACTION_STATE_TOPIC)).toBeUndefined();
  });

  it('given KIP-360 bumps, should bump for the current epoch, answer a retry again, and fence an older epoch', async () => {
    const h = await harness();
    const first = await init(h);
    const bumped = await init(h, 'tx', 60_000, first.producerId, first.producerEpoch);
    expect(bumped).toEqual({
      errorCode: KafkaErrorCode.NONE,
      producerId: first.producerId,
      producerEpoch: 1,
    });
    // The same request again (its answer was lost): the same epoch, nothing bumped.
    expect(await init(h, 'tx', 60_000, first.producerId, first.producerEpoch)).toEqual(bumped);
    // A fresh producer takes the id; the old one's bump is fenced.
    const fresh = await init(h);
    expect(fresh.producerEpoch).toBe(2);
    expect((await init(h, 'tx', 60_000, bumped.producerId, bumped.producerEpoch)).errorCode).toBe(
      KafkaErrorCode.PRODUCER_FENCED,
    );
  });

  it('given a committed transaction, should write PrepareCommit, a COMMIT marker to each partition, then CompleteCommit', async () => {
    const h = await harness();
    const p = producer('tx', await init(h));
    expect(
      await h.coordinator.addPartitions(p, [
        { topic: 'out', partition: 0 },
        { topic: 'out', partition: 1 },
      ]),
    ).toBe(KafkaErrorCode.NONE);
    // A retried AddPartitions changes nothing.
    expect(await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 1 }])).toBe(KafkaErrorCode.NONE);
    expect(h.coordinator.describe('tx')).toMatchObject({ state: TxnState.ONGOING, startMs: h.clock.nowMs });
    expect(await h.coordinator.endTransaction(p, true)).toBe(KafkaErrorCode.NONE);
    await h.coordinator.settled();
    expect(h.markers.on('out', 0)).toEqual(['commit@0']);
    expect(h.markers.on('out', 1)).toEqual(['commit@0']);
    expect(h.coordinator.describe('tx')).toMatchObject({ state: TxnState.COMPLETE_COMMIT, partitions: [] });
    // A retried EndTxn of the completed transaction succeeds; the other outcome is refused.
    expect(await h.coordinator.endTransaction(p, true)).toBe(KafkaErrorCode.NONE);
    expect(await h.coordinator.endTransaction(p, false)).toBe(KafkaErrorCode.INVALID_TXN_STATE);
    // The next transaction starts from CompleteCommit.
    expect(await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 0 }])).toBe(KafkaErrorCode.NONE);
    expect(await h.coordinator.endTransaction(p, false)).toBe(KafkaErrorCode.NONE);
    await h.coordinator.settled();
    expect(h.markers.on('out', 0)).toEqual(['commit@0', 'abort@0']);
    expect(h.markers.on('out', 1)).toEqual(['commit@0']);
  });

  it('given EndTxn without a transaction, or while markers are being written, should answer INVALID_TXN_STATE or CONCURRENT_TRANSACTIONS', async () => {
    const h = await harness();
    const p = producer('tx', await init(h));
    expect(await h.coordinator.endTransaction(p, true)).toBe(KafkaErrorCode.INVALID_TXN_STATE);
    await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 0 }]);
    h.markers.failWith = KafkaErrorCode.NOT_LEADER_OR_FOLLOWER;
    expect(await h.coordinator.endTransaction(p, true)).toBe(KafkaErrorCode.NONE);
    expect(h.coordinator.describe('tx').state).toBe(TxnState.PREPARE_COMMIT);
    expect(await h.coordinator.endTransaction(p, true)).toBe(KafkaErrorCode.CONCURRENT_TRANSACTIONS);
    expect(await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 1 }])).toBe(
      KafkaErrorCode.CONCURRENT_TRANSACTIONS,
    );
    expect((await init(h)).errorCode).toBe(KafkaErrorCode.CONCURRENT_TRANSACTIONS);
    // The partition comes back: the retried marker lands and the transaction completes.
    h.markers.failWith = null;
    await h.coordinator.settled();
    expect(h.markers.on('out', 0)).toEqual(['commit@0']);
    expect(h.coordinator.describe('tx').state).toBe(TxnState.COMPLETE_COMMIT);
  });

  it('given a new producer while a transaction is ongoing, should abort it under a bumped epoch and then give the next epoch', async () => {
    const h = await harness();
    const old = producer('tx', await init(h));
    await h.coordinator.addPartitions(old, [{ topic: 'out', partition: 0 }]);
    expect((await init(h)).errorCode).toBe(KafkaErrorCode.CONCURRENT_TRANSACTIONS);
    await h.coordinator.settled();
    // The abort marker carries the bumped epoch, which fences the old producer on the partition.
    expect(h.markers.on('out', 0)).toEqual(['abort@1']);
    const fresh = await init(h);
    expect(fresh).toMatchObject({ errorCode: KafkaErrorCode.NONE, producerEpoch: 2 });
    expect(await h.coordinator.endTransaction(old, true)).toBe(KafkaErrorCode.PRODUCER_FENCED);
  });

  it('given a transaction past its timeout, should abort it with a bumped epoch so its producer is fenced', async () => {
    const h = await harness();
    const p = producer('tx', await init(h, 'tx', 5_000));
    await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 1 }]);
    h.clock.nowMs += 5_000;
    h.coordinator.abortExpired();
    await h.coordinator.settled();
    expect(h.coordinator.describe('tx').state).toBe(TxnState.ONGOING);
    h.clock.nowMs += 1;
    h.coordinator.abortExpired();
    await h.coordinator.settled();
    expect(h.markers.on('out', 1)).toEqual(['abort@1']);
    expect(h.coordinator.describe('tx')).toMatchObject({ state: TxnState.COMPLETE_ABORT, producerEpoch: 1 });
    expect(await h.coordinator.endTransaction(p, true)).toBe(KafkaErrorCode.PRODUCER_FENCED);
    // KIP-360: the producer whose transaction timed out may bump and go on.
    expect(await init(h, 'tx', 5_000, p.producerId, p.producerEpoch)).toMatchObject({
      errorCode: KafkaErrorCode.NONE,
      producerEpoch: 2,
    });
  });

  it('given offsets committed in a transaction, should show them only after it commits and never after it aborts', async () => {
    const h = await harness();
    const p = producer('tx', await init(h));
    const commit = (offset: number) =>
      h.coordinator.commitOffsets({
        ...p,
        groupId: 'g',
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ topic: 'in', partitions: [{ partition: 0, offset, metadata: null }] }],
      });
    const visible = async () =>
      (await h.groups.fetchOffsets({ groupId: 'g', topics: [{ topic: 'in', partitions: [0] }] })).topics[0]!
        .partitions[0]!.offset;
    // Without AddOffsetsToTxn the offsets could never learn the outcome: refused.
    await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 0 }]);
    expect((await commit(5)).topics[0]!.partitions[0]!.errorCode).toBe(KafkaErrorCode.INVALID_TXN_STATE);
    expect(await h.coordinator.addOffsets(p, 'g')).toBe(KafkaErrorCode.NONE);
    expect((await commit(5)).topics[0]!.partitions[0]!.errorCode).toBe(KafkaErrorCode.NONE);
    expect(await visible()).toBe(-1);
    expect(h.groups.hasPendingOffset('g', 'in', 0)).toBe(true);
    // KIP-447: a consumer asking for stable offsets is told to wait while the transaction is open.
    const stable = await h.groups.fetchOffsets({
      groupId: 'g',
      topics: [{ topic: 'in', partitions: [0] }],
      requireStable: true,
    });
    expect(stable.topics[0]!.partitions[0]!.errorCode).toBe(KafkaErrorCode.UNSTABLE_OFFSET_COMMIT);
    const everything = await h.groups.fetchOffsets({ groupId: 'g', topics: null, requireStable: true });
    expect(everything.topics).toEqual([]);
    await h.coordinator.endTransaction(p, true);
    await h.coordinator.settled();
    expect(await visible()).toBe(5);
    // An aborted transaction's offsets never show.
    await h.coordinator.addOffsets(p, 'g');
    await commit(9);
    await h.coordinator.endTransaction(p, false);
    await h.coordinator.settled();
    expect(await visible()).toBe(5);
    expect(h.groups.hasPendingOffset('g', 'in', 0)).toBe(false);
    // Both survive a restart as they were.
    await h.restart();
    expect(await visible()).toBe(5);
  });

  it('given a crash after PrepareCommit, should write the markers and complete on restart, offsets included', async () => {
    const h = await harness();
    const p = producer('tx', await init(h));
    await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 0 }]);
    await h.coordinator.addOffsets(p, 'g');
    await h.coordinator.commitOffsets({
      ...p,
      groupId: 'g',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ topic: 'in', partitions: [{ partition: 0, offset: 7, metadata: 'm' }] }],
    });
    // The broker dies with the decision durable and nothing else: no marker, no offsets completed.
    h.markers.hang = true;
    const produce = h.engine.produce.bind(h.engine);
    h.engine.produce = async (topic, partition, batch, acks) =>
      topic === '__consumer_offsets'
        ? produceFailure(KafkaErrorCode.KAFKA_STORAGE_ERROR, 'down')
        : produce(topic, partition, batch, acks);
    expect(await h.coordinator.endTransaction(p, true)).toBe(KafkaErrorCode.NONE);
    expect(h.coordinator.describe('tx').state).toBe(TxnState.PREPARE_COMMIT);
    expect(h.groups.hasPendingOffset('g', 'in', 0)).toBe(true);
    h.engine.produce = produce;
    h.markers.hang = false;
    await h.restart();
    // Read back as pending, then completed by the resumed transaction.
    await h.coordinator.settled();
    expect(h.markers.on('out', 0)).toEqual(['commit@0']);
    expect(h.coordinator.describe('tx').state).toBe(TxnState.COMPLETE_COMMIT);
    const fetched = await h.groups.fetchOffsets({ groupId: 'g', topics: [{ topic: 'in', partitions: [0] }] });
    expect(fetched.topics[0]!.partitions[0]).toMatchObject({ offset: 7, metadata: 'm' });
  });

  it('given a crash while a transaction is ongoing, should keep it ongoing and abort it when it times out', async () => {
    const h = await harness();
    const p = producer('tx', await init(h, 'tx', 10_000));
    await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 0 }]);
    await h.restart();
    expect(h.coordinator.describe('tx')).toMatchObject({ state: TxnState.ONGOING, producerEpoch: 0 });
    h.clock.nowMs += 10_001;
    h.coordinator.abortExpired();
    await h.coordinator.settled();
    expect(h.markers.on('out', 0)).toEqual(['abort@1']);
    await h.restart();
    expect(h.coordinator.describe('tx')).toMatchObject({ state: TxnState.COMPLETE_ABORT, producerEpoch: 1 });
  });

  it('given the state log cannot be written, should answer COORDINATOR_NOT_AVAILABLE and change nothing', async () => {
    const h = await harness();
    const p = producer('tx', await init(h));
    const produce = h.engine.produce.bind(h.engine);
    h.engine.produce = async (topic, partition, batch, acks) =>
      topic === TRANSACTION_STATE_TOPIC
        ? produceFailure(KafkaErrorCode.KAFKA_STORAGE_ERROR, 'down')
        : produce(topic, partition, batch, acks);
    expect(await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 0 }])).toBe(
      KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    expect(h.coordinator.describe('tx').state).toBe(TxnState.EMPTY);
    h.engine.produce = produce;
    expect(await h.coordinator.addPartitions(p, [{ topic: 'out', partition: 0 }])).toBe(KafkaErrorCode.NONE);
  });

  it('given a transactional id idle past its expiration, should forget it durably, but never one with a transaction under way', async () => {
    const h = await harness({ idExpirationMs: 60_000 });
    const idle = await init(h, 'idle');
    const busy = producer('busy', await init(h, 'busy', 600_000));
    await h.coordinator.addPartitions(busy, [{ topic: 'out', partition: 0 }]);
    h.clock.nowMs += 60_000;
    h.coordinator.forgetIdle();
    await h.coordinator.settled();
    expect(h.coordinator.describe('idle').errorCode).toBe(KafkaErrorCode.NONE);
    h.clock.nowMs += 1;
    h.coordinator.forgetIdle();
    await h.coordinator.settled();
    expect(h.coordinator.describe('idle').errorCode).toBe(KafkaErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    expect(h.coordinator.describe('busy').state).toBe(TxnState.ONGOING);
    await h.restart();
    expect(h.coordinator.describe('idle').errorCode).toBe(KafkaErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    // It starts afresh: a new producer id at epoch 0.
    const again = await init(h, 'idle');
    expect(again).toMatchObject({ errorCode: KafkaErrorCode.NONE, producerEpoch: 0 });
    expect(again.producerId).not.toBe(idle.producerId);
  });

  it('lists and describes transactions with their filters', async () => {
    const h = await harness();
    const a = producer('a', await init(h, 'a'));
    await init(h, 'b');
    await h.coordinator.addPartitions(a, [{ topic: 'out', partition: 1 }]);
    h.clock.nowMs += 100;
    const ids = (filter: Partial<Parameters<typeof h.coordinator.list>[0]>) =>
      h.coordinator
        .list({ states: [], producerIds: [], minDurationMs: -1, ...filter })
        .map((t) => t.transactionalId)
        .sort();
    expect(ids({})).toEqual(['a', 'b']);
    expect(ids({ states: [TxnState.ONGOING] })).toEqual(['a']);
    expect(ids({ producerIds: [a.producerId] })).toEqual(['a']);
    expect(ids({ minDurationMs: 99 })).toEqual(['a']);
    expect(ids({ minDurationMs: 100 })).toEqual([]);
    expect(h.coordinator.describe('a')).toMatchObject({
      errorCode: KafkaErrorCode.NONE,
      state: TxnState.ONGOING,
      partitions: [{ topic: 'out', partition: 1 }],
    });
    expect(h.coordinator.describe('nope').errorCode).toBe(KafkaErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  });
});
