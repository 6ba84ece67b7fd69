import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { addOffsetsToTxn } from '../../src/protocol/kafka/add-offsets-to-txn.js';
import { addPartitionsToTxn } from '../../src/protocol/kafka/add-partitions-to-txn.js';
import type { KafkaApi, KafkaRequestContext } from '../../src/protocol/kafka/api.js';
import { kafkaApis } from '../../src/protocol/kafka/api-registry.js';
import { describeTransactions } from '../../src/protocol/kafka/describe-transactions.js';
import { endTxn } from '../../src/protocol/kafka/end-txn.js';
import { findCoordinator } from '../../src/protocol/kafka/find-coordinator.js';
import { initProducerId } from '../../src/protocol/kafka/init-producer-id.js';
import { listTransactions } from '../../src/protocol/kafka/list-transactions.js';
import { produce } from '../../src/protocol/kafka/produce.js';
import { txnOffsetCommit } from '../../src/protocol/kafka/txn-offset-commit.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { AccessControl } from '../../src/security/access-control.js';
import { AclOperation, AclPatternType, AclPermission, AclResourceType } from '../../src/security/acl.js';
import { AclStore } from '../../src/security/acl-store.js';
import { ANONYMOUS_PRINCIPAL } from '../../src/security/principal.js';
import { TransactionCoordinator } from '../../src/transactions/transaction-coordinator.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { cstr, decode, encode, i16, i32, i64, noTags, str, uv } from '../support/kafka-bytes.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { makeTempDir } from '../support/temp-dir.js';
import { RecordingMarkers } from '../transactions/txn-fixture.js';

/**
 * The transactional Kafka APIs: their codecs against byte fixtures, and their
 * handlers over a real coordinator (MemoryEngine, recorded markers): the
 * answers, the version-dependent errors and the ACL checks.
 */
describe('transactional Kafka APIs', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function contextFor(options: { acl?: boolean; transactions?: boolean } = {}) {
    const engine = new MemoryEngine();
    await engine.createTopic('out', 2);
    await engine.createTopic('in', 1);
    const base = await testFrontDoorDeps(engine);
    const markers = new RecordingMarkers();
    const transactions = await TransactionCoordinator.open(engine, {
      nextProducerId: () => engine.nextProducerId(),
      writeMarker: (marker) => markers.write(marker),
      offsets: base.groups,
    });
    closers.push(async () => {
      await transactions.close();
      await base.groups.close();
    });
    let access: AccessControl | undefined;
    if (options.acl === true) {
      const temp = makeTempDir('txn-acls');
      closers.push(async () => temp.cleanup());
      access = new AccessControl(new AclStore(temp.dir), {
        superUsers: [],
        allowEveryoneIfNoAclFound: true,
        audit: () => undefined,
      });
      const deny = (resourceType: 2 | 3 | 5, resourceName: string, operation: 3 | 4 | 8) => ({
        resourceType,
        resourceName,
        patternType: AclPatternType.LITERAL,
        principal: 'User:ANONYMOUS',
        host: '*',
        operation,
        permission: AclPermission.DENY,
      });
      await access.create('User:admin', [
        deny(AclResourceType.TRANSACTIONAL_ID, 'locked', AclOperation.WRITE),
        deny(AclResourceType.TRANSACTIONAL_ID, 'hidden', AclOperation.DESCRIBE),
        deny(AclResourceType.TOPIC, 'in', AclOperation.WRITE),
      ]);
    }
    const deps = {
      ...base,
      ...(options.transactions === false ? {} : { transactions }),
      ...(access === undefined ? {} : { access }),
    };
    const context = (apiVersion: number): KafkaRequestContext => ({
      deps,
      apiVersion,
      clientId: 'test',
      clientHost: '127.0.0.1',
      principal: ANONYMOUS_PRINCIPAL,
      responseBytes: { grant: (wanted) => wanted, giveBack: () => {} },
      apis: kafkaApis,
    });
    return { engine, transactions, markers, context };
  }
  const run = <Q, R>(api: KafkaApi<Q, R>, request: Q, context: KafkaRequestContext) =>
    api.handle(request, context) as Promise<R>;

  it('decodes EndTxn v0 and v3 and encodes their answers from byte fixtures', () => {
    expect(decode(endTxn, 0, [...str('tx'), ...i64(7), ...i16(2), 1])).toEqual({
      transactionalId: 'tx',
      producerId: 7,
      producerEpoch: 2,
      committed: true,
    });
    expect(decode(endTxn, 3, [...cstr('tx'), ...i64(7), ...i16(2), 0, ...noTags()])).toMatchObject({
      committed: false,
    });
    expect(encode(endTxn, 0, { errorCode: 90 })).toEqual([...i32(0), ...i16(90)]);
    expect(encode(endTxn, 3, { errorCode: 0 })).toEqual([...i32(0), ...i16(0), ...noTags()]);
  });

  it('decodes AddPartitionsToTxn v0 and TxnOffsetCommit v3, and encodes ListTransactions v1, from byte fixtures', () => {
    expect(
      decode(addPartitionsToTxn, 0, [
        ...str('tx'),
        ...i64(5),
        ...i16(1),
        ...i32(1),
        ...str('out'),
        ...i32(2),
        ...i32(0),
        ...i32(1),
      ]),
    ).toEqual({
      transactionalId: 'tx',
      producerId: 5,
      producerEpoch: 1,
      topics: [{ name: 'out', partitions: [0, 1] }],
    });
    const commit = decode(txnOffsetCommit, 3, [
      ...cstr('tx'),
      ...cstr('g'),
      ...i64(5),
      ...i16(1),
      ...i32(3),
      ...cstr('m-1'),
      0, // null group instance id
      ...uv(2), // one topic
      ...cstr('in'),
      ...uv(2), // one partition
      ...i32(0),
      ...i64(42),
      ...i32(-1),
      ...cstr('meta'),
      ...noTags(),
      ...noTags(),
      ...noTags(),
    ]);
    expect(commit).toMatchObject({
      generationId: 3,
      memberId: 'm-1',
      groupInstanceId: null,
      topics: [
        { name: 'in', partitions: [{ partitionIndex: 0, committedOffset: 42, committedMetadata: 'meta' }] },
      ],
    });
    expect(
      encode(listTransactions, 1, {
        errorCode: 0,
        unknownStateFilters: ['Weird'],
        transactionStates: [{ transactionalId: 'tx', producerId: 5, transactionState: 'Ongoing' }],
      }),
    ).toEqual([
      ...i32(0),
      ...i16(0),
      ...uv(2),
      ...cstr('Weird'),
      ...uv(2),
      ...cstr('tx'),
      ...i64(5),
      ...cstr('Ongoing'),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('runs a transaction through the handlers: InitProducerId, AddPartitions, AddOffsets, TxnOffsetCommit, EndTxn', async () => {
    const { context, transactions, markers } = await contextFor();
    const found = await run(findCoordinator, { key: 'tx', keyType: 1, coordinatorKeys: [] }, context(3));
    expect(found.errorCode).toBe(KafkaErrorCode.NONE);
    const batched = await run(
      findCoordinator,
      { key: '', keyType: 1, coordinatorKeys: ['a', 'b'] },
      context(4),
    );
    expect(batched.coordinators.map((c) => c.errorCode)).toEqual([0, 0]);
    const init = await run(
      initProducerId,
      { transactionalId: 'tx', transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 },
      context(1),
    );
    expect(init).toMatchObject({ errorCode: 0, producerEpoch: 0 });
    const who = { transactionalId: 'tx', producerId: init.producerId, producerEpoch: 0 };
    const added = await run(
      addPartitionsToTxn,
      { ...who, topics: [{ name: 'out', partitions: [0, 1] }] },
      context(1),
    );
    expect(added.results[0]!.partitions.map((p) => p.partitionErrorCode)).toEqual([0, 0]);
    expect((await run(addOffsetsToTxn, { ...who, groupId: 'g' }, context(1))).errorCode).toBe(0);
    const committed = await run(
      txnOffsetCommit,
      {
        ...who,
        groupId: 'g',
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [
          { name: 'in', partitions: [{ partitionIndex: 0, committedOffset: 10, committedMetadata: null }] },
          { name: 'nope', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] },
        ],
      },
      context(3),
    );
    expect(committed.topics.map((t) => t.partitions[0]!.errorCode)).toEqual([
      0,
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    const described = await run(describeTransactions, { transactionalIds: ['tx', 'nobody'] }, context(0));
    expect(described.transactionStates[0]).toMatchObject({
      errorCode: 0,
      transactionState: 'Ongoing',
      producerEpoch: 0,
      topics: [
        { name: 'out', partitions: [0, 1] },
        { name: '__consumer_offsets', partitions: [0] },
      ],
    });
    expect(described.transactionStates[1]!.errorCode).toBe(KafkaErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    const listed = await run(
      listTransactions,
      { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [], durationFilter: -1 },
      context(1),
    );
    expect(listed).toMatchObject({
      unknownStateFilters: ['Bogus'],
      transactionStates: [{ transactionalId: 'tx', transactionState: 'Ongoing' }],
    });
    expect((await run(endTxn, { ...who, committed: true }, context(1))).errorCode).toBe(0);
    await transactions.settled();
    expect(markers.on('out', 0)).toEqual(['commit@0']);
    expect(markers.on('out', 1)).toEqual(['commit@0']);
  });

  it('answers a fenced producer PRODUCER_FENCED from the versions that know it, INVALID_PRODUCER_EPOCH before', async () => {
    const { context } = await contextFor();
    const init = (version: number) =>
      run(
        initProducerId,
        { transactionalId: 'tx', transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 },
        context(version),
      );
    const first = await init(1);
    await init(1);
    const old = { transactionalId: 'tx', producerId: first.producerId, producerEpoch: first.producerEpoch };
    const end = async (version: number) =>
      (await run(endTxn, { ...old, committed: true }, context(version))).errorCode;
    expect(await end(1)).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await end(2)).toBe(KafkaErrorCode.PRODUCER_FENCED);
    const add = async (version: number) =>
      (
        await run(
          addPartitionsToTxn,
          { ...old, topics: [{ name: 'out', partitions: [0] }] },
          context(version),
        )
      ).results[0]!.partitions[0]!.partitionErrorCode;
    expect(await add(0)).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await add(3)).toBe(KafkaErrorCode.PRODUCER_FENCED);
    const bump = (version: number) =>
      run(initProducerId, { transactionTimeoutMs: 30_000, ...old }, context(version));
    expect((await bump(3)).errorCode).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await bump(4)).errorCode).toBe(KafkaErrorCode.PRODUCER_FENCED);
  });

  it("given a transactional Produce, should take a batch only for a partition of the producer's ongoing transaction", async () => {
    const { context } = await contextFor();
    const init = await run(
      initProducerId,
      { transactionalId: 'tx', transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 },
      context(1),
    );
    const batch = (epoch: number, sequence: number) =>
      buildRecordBatch([{ key: null, value: new Uint8Array([1]) }], {
        producerId: init.producerId,
        producerEpoch: epoch,
        baseSequence: sequence,
        transactional: true,
      });
    const send = async (transactionalId: string | null, partition: number, records: Uint8Array) =>
      (await run(
        produce,
        {
          transactionalId,
          acks: -1,
          timeoutMs: 5000,
          topics: [{ name: 'out', partitions: [{ index: partition, records }] }],
        },
        context(7),
      ))!.topics[0]!.partitions[0]!.errorCode;
    // Not added to a transaction yet: a write would open one the coordinator never ends there.
    expect(await send('tx', 0, batch(0, 0))).toBe(KafkaErrorCode.INVALID_TXN_STATE);
    const who = { transactionalId: 'tx', producerId: init.producerId, producerEpoch: 0 };
    await run(addPartitionsToTxn, { ...who, topics: [{ name: 'out', partitions: [0] }] }, context(1));
    expect(await send('tx', 0, batch(0, 0))).toBe(KafkaErrorCode.NONE);
    expect(await send('tx', 1, batch(0, 0))).toBe(KafkaErrorCode.INVALID_TXN_STATE);
    // A transactional batch needs the request's transactional id.
    expect(await send(null, 0, batch(0, 1))).toBe(KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    // A new producer fences the old epoch (its transaction is aborted first).
    await run(
      initProducerId,
      { transactionalId: 'tx', transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 },
      context(1),
    );
    expect(await send('tx', 0, batch(0, 1))).toBe(KafkaErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('refuses a whole AddPartitionsToTxn when one partition is unknown: OPERATION_NOT_ATTEMPTED for the rest', async () => {
    const { context, transactions } = await contextFor();
    const init = await run(
      initProducerId,
      { transactionalId: 'tx', transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 },
      context(1),
    );
    const answer = await run(
      addPartitionsToTxn,
      {
        transactionalId: 'tx',
        producerId: init.producerId,
        producerEpoch: 0,
        topics: [
          { name: 'out', partitions: [0, 5] },
          { name: '__consumer_offsets', partitions: [0] },
        ],
      },
      context(1),
    );
    expect(answer.results.map((t) => t.partitions.map((p) => p.partitionErrorCode))).toEqual([
      [KafkaErrorCode.OPERATION_NOT_ATTEMPTED, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [KafkaErrorCode.INVALID_TOPIC_EXCEPTION],
    ]);
    expect(transactions.describe('tx').state).toBe('Empty');
  });

  it('checks the TRANSACTIONAL_ID ACLs: Write for the transactional APIs, Describe to find and describe', async () => {
    const { context } = await contextFor({ acl: true });
    const init = (id: string) =>
      run(
        initProducerId,
        { transactionalId: id, transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 },
        context(1),
      );
    expect((await init('locked')).errorCode).toBe(KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const open = await init('open');
    expect(open.errorCode).toBe(0);
    await init('hidden');
    const locked = { transactionalId: 'locked', producerId: open.producerId, producerEpoch: 0 };
    expect((await run(endTxn, { ...locked, committed: true }, context(1))).errorCode).toBe(
      KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    );
    // Write on the topic too.
    const add = await run(
      addPartitionsToTxn,
      {
        transactionalId: 'open',
        producerId: open.producerId,
        producerEpoch: 0,
        topics: [{ name: 'in', partitions: [0] }],
      },
      context(1),
    );
    expect(add.results[0]!.partitions[0]!.partitionErrorCode).toBe(KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const found = await run(
      findCoordinator,
      { key: '', keyType: 1, coordinatorKeys: ['open', 'hidden'] },
      context(4),
    );
    expect(found.coordinators.map((c) => c.errorCode)).toEqual([
      0,
      KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ]);
    const described = await run(describeTransactions, { transactionalIds: ['hidden'] }, context(0));
    expect(described.transactionStates[0]!.errorCode).toBe(
      KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    );
    const listed = await run(
      listTransactions,
      { stateFilters: [], producerIdFilters: [], durationFilter: -1 },
      context(0),
    );
    expect(listed.transactionStates.map((t) => t.transactionalId).sort()).toEqual(['open']);
  });

  it('without a coordinator: FindCoordinator key type 1 is COORDINATOR_NOT_AVAILABLE and transactional ids are refused', async () => {
    const { context } = await contextFor({ transactions: false });
    const found = await run(findCoordinator, { key: 'tx', keyType: 1, coordinatorKeys: [] }, context(3));
    expect(found.errorCode).toBe(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE);
    const init = await run(
      initProducerId,
      { transactionalId: 'tx', transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 },
      context(1),
    );
    expect(init.errorCode).toBe(KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  });
});
