import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { alterConfigs } from '../../src/protocol/kafka/alter-configs.js';
import type { KafkaApi, KafkaRequestContext } from '../../src/protocol/kafka/api.js';
import { kafkaApis } from '../../src/protocol/kafka/api-registry.js';
import { createPartitions } from '../../src/protocol/kafka/create-partitions.js';
import { deleteRecords } from '../../src/protocol/kafka/delete-records.js';
import { describeCluster } from '../../src/protocol/kafka/describe-cluster.js';
import { describeConfigs } from '../../src/protocol/kafka/describe-configs.js';
import { describeLogDirs } from '../../src/protocol/kafka/describe-log-dirs.js';
import { ELECTION_NOT_NEEDED, electLeaders } from '../../src/protocol/kafka/elect-leaders.js';
import { incrementalAlterConfigs } from '../../src/protocol/kafka/incremental-alter-configs.js';
import { offsetDelete } from '../../src/protocol/kafka/offset-delete.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { ANONYMOUS_PRINCIPAL } from '../../src/security/principal.js';
import { scopedTestEngines } from '../support/engine-fixture.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';

/**
 * The admin handlers on a real sharded engine (two shards, a temp data dir):
 * what each answers and what it changes, including the refusals with Kafka's
 * error codes.
 */
describe('Kafka admin API handlers', () => {
  const engines = scopedTestEngines('admin-handlers');

  async function contextFor(engine: ShardedEngine) {
    // The engine's own config (data dir, caps), as the broker hands both the same one.
    const deps = await testFrontDoorDeps(engine, { ...engine.config, nodeId: 3, advertisedPort: 9999 });
    return (apiVersion: number): KafkaRequestContext => ({
      deps,
      apiVersion,
      clientId: 'test',
      clientHost: '127.0.0.1',
      principal: ANONYMOUS_PRINCIPAL,
      responseBytes: { grant: (wanted) => wanted, giveBack: () => {} },
      apis: kafkaApis,
    });
  }
  const run = <Q, R>(api: KafkaApi<Q, R>, request: Q, context: KafkaRequestContext) =>
    api.handle(request, context) as Promise<R>;

  it('IncrementalAlterConfigs sets, deletes, appends and subtracts; validate_only and bad input change nothing', async () => {
    const engine = await engines.start();
    const context = await contextFor(engine);
    expect(await engine.createTopic('t', 1, { retentionMs: 5000 })).toBe(KafkaErrorCode.NONE);
    const alter = (
      configs: { name: string; configOperation: number; value: string | null }[],
      validateOnly = false,
    ) =>
      run(
        incrementalAlterConfigs,
        { resources: [{ resourceType: 2, resourceName: 't', configs }], validateOnly },
        context(1),
      );

    let answer = await alter([
      { name: 'segment.ms', configOperation: 0, value: '60000' },
      { name: 'retention.ms', configOperation: 1, value: null },
    ]);
    expect(answer.responses[0]).toMatchObject({ errorCode: 0, resourceName: 't' });
    const defaults = context(1).deps.config.topicDefaults;
    expect(engine.describeTopic('t')?.config).toMatchObject({
      segmentMs: 60000,
      retentionMs: defaults.retentionMs,
    });

    answer = await alter([{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }]);
    expect(answer.responses[0]?.errorCode).toBe(0);
    expect(engine.describeTopic('t')?.config.cleanupPolicy).toBe('compact,delete');
    answer = await alter([{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }]);
    expect(engine.describeTopic('t')?.config.cleanupPolicy).toBe('compact');

    answer = await alter([{ name: 'segment.ms', configOperation: 0, value: '1' }], true);
    expect(answer.responses[0]?.errorCode).toBe(0);
    expect(engine.describeTopic('t')?.config.segmentMs).toBe(60000);

    for (const bad of [
      { name: 'segment.ms', configOperation: 2, value: '5' },
      { name: 'cleanup.policy', configOperation: 3, value: 'compact' },
      { name: 'segment.bytes', configOperation: 0, value: '12' },
      { name: 'unknown.name', configOperation: 0, value: '1' },
      { name: 'segment.ms', configOperation: 9, value: '1' },
    ]) {
      answer = await alter([{ name: 'retention.bytes', configOperation: 0, value: '123456789' }, bad]);
      expect(answer.responses[0]?.errorCode, JSON.stringify(bad)).toBe(KafkaErrorCode.INVALID_CONFIG);
      expect(answer.responses[0]?.errorMessage).toContain(bad.name);
      expect(engine.describeTopic('t')?.config).toMatchObject({
        segmentMs: 60000,
        retentionBytes: defaults.retentionBytes,
      });
    }

    answer = await alter([
      { name: 'segment.ms', configOperation: 0, value: '70000' },
      { name: 'segment.ms', configOperation: 1, value: null },
    ]);
    expect(answer.responses[0]?.errorCode).toBe(KafkaErrorCode.INVALID_REQUEST);
    expect(engine.describeTopic('t')?.config.segmentMs).toBe(60000);

    const other = await run(
      incrementalAlterConfigs,
      {
        resources: [
          { resourceType: 2, resourceName: 'missing', configs: [] },
          {
            resourceType: 4,
            resourceName: '3',
            configs: [{ name: 'log.retention.ms', configOperation: 0, value: '1' }],
          },
          { resourceType: 4, resourceName: '3', configs: [] },
        ],
        validateOnly: false,
      },
      context(1),
    );
    expect(other.responses.map((r) => r.errorCode)).toEqual([
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      KafkaErrorCode.INVALID_REQUEST,
      KafkaErrorCode.INVALID_REQUEST,
    ]);
  });

  it('AlterConfigs replaces the whole set: settings not named go back to the defaults', async () => {
    const engine = await engines.start();
    const context = await contextFor(engine);
    await engine.createTopic('t', 1, { retentionMs: 5000, segmentMs: 70000 });
    const answer = await run(
      alterConfigs,
      {
        resources: [
          { resourceType: 2, resourceName: 't', configs: [{ name: 'segment.ms', value: '80000' }] },
        ],
        validateOnly: false,
      },
      context(0),
    );
    expect(answer.responses[0]?.errorCode).toBe(0);
    const defaults = context(0).deps.config.topicDefaults;
    expect(engine.describeTopic('t')?.config).toMatchObject({
      segmentMs: 80000,
      retentionMs: defaults.retentionMs,
    });
  });

  it('CreatePartitions respects validate_only, the per-topic and per-broker caps, and single-node assignments', async () => {
    const engine = await engines.start({ maxPartitionsPerTopic: 8, maxPartitionsPerBroker: 80 });
    const context = await contextFor(engine);
    await engine.createTopic('t', 2);
    const create = (
      count: number,
      assignments: { brokerIds: number[] }[] | null = null,
      validateOnly = false,
    ) =>
      run(
        createPartitions,
        { topics: [{ name: 't', count, assignments }], timeoutMs: 1000, validateOnly },
        context(3),
      );
    expect((await create(4, null, true)).results[0]?.errorCode).toBe(0);
    expect(engine.describeTopic('t')?.partitionCount).toBe(2);
    expect((await create(9)).results[0]?.errorCode).toBe(KafkaErrorCode.INVALID_PARTITIONS);
    expect((await create(2)).results[0]?.errorCode).toBe(KafkaErrorCode.INVALID_PARTITIONS);
    expect((await create(3, [{ brokerIds: [1] }])).results[0]?.errorCode).toBe(39);
    expect((await create(3, [{ brokerIds: [3] }])).results[0]?.errorCode).toBe(0);
    expect(engine.describeTopic('t')?.partitionCount).toBe(3);
    // The broker-wide cap counts what the topics already have (the offsets topic's partitions too).
    let left = 80 - engine.listTopics().reduce((sum, topic) => sum + topic.partitionCount, 0) - 1;
    for (let i = 0; left > 0; i++) {
      const count = Math.min(left, 8);
      expect(await engine.createTopic(`fill-${i}`, count)).toBe(KafkaErrorCode.NONE);
      left -= count;
    }
    expect((await create(5)).results[0]?.errorCode).toBe(KafkaErrorCode.POLICY_VIOLATION);
    expect(await engine.addPartitions('t', 5)).toBe(KafkaErrorCode.POLICY_VIOLATION);
    const internal = await run(
      createPartitions,
      {
        topics: [{ name: '__consumer_offsets', count: 60, assignments: null }],
        timeoutMs: 1000,
        validateOnly: false,
      },
      context(3),
    );
    expect(internal.results[0]?.errorCode).toBe(KafkaErrorCode.POLICY_VIOLATION);
    const unknown = await run(
      createPartitions,
      { topics: [{ name: 'nope', count: 2, assignments: null }], timeoutMs: 1000, validateOnly: false },
      context(3),
    );
    expect(unknown.results[0]?.errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('DescribeCluster names this broker as the only broker and the controller', async () => {
    const engine = await engines.start();
    const context = await contextFor(engine);
    const answer = await run(
      describeCluster,
      { includeClusterAuthorizedOperations: false, endpointType: 1 },
      context(1),
    );
    expect(answer).toMatchObject({ errorCode: 0, controllerId: 3, brokers: [{ brokerId: 3, port: 9999 }] });
    const controllers = await run(
      describeCluster,
      { includeClusterAuthorizedOperations: false, endpointType: 2 },
      context(1),
    );
    expect(controllers.errorCode).toBe(119);
  });

  it('ElectLeaders: not needed for known partitions, unknown ones named, null list answers nothing', async () => {
    const engine = await engines.start();
    const context = await contextFor(engine);
    await engine.createTopic('t', 2);
    const answer = await run(
      electLeaders,
      {
        electionType: 0,
        topicPartitions: [
          { topic: 't', partitionId: [1, 2] },
          { topic: 'x', partitionId: [0] },
        ],
        timeoutMs: 1,
      },
      context(2),
    );
    expect(answer.replicaElectionResults.map((r) => r.partitionResult.map((p) => p.errorCode))).toEqual([
      [ELECTION_NOT_NEEDED, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const all = await run(electLeaders, { electionType: 0, topicPartitions: null, timeoutMs: 1 }, context(2));
    expect(all).toEqual({ errorCode: 0, replicaElectionResults: [] });
  });

  it('DescribeLogDirs reports the data dir, each partition size from its segments, and the disk at v4', async () => {
    const engine = await engines.start();
    const context = await contextFor(engine);
    await engine.createTopic('t', 2);
    const batch = buildRecordBatch([{ key: null, value: new Uint8Array(500) }], {
      baseTimestampMs: Date.now(),
    });
    expect((await engine.produce('t', 1, batch, -1)).errorCode).toBe(0);
    const answer = await run(
      describeLogDirs,
      { topics: [{ topic: 't', partitions: [0, 1, 7] }] },
      context(4),
    );
    const dir = answer.results[0];
    expect(dir?.logDir).toBe(resolve(engine.config.dataDir));
    expect(dir?.totalBytes).toBeGreaterThan(0);
    expect(dir?.usableBytes).toBeGreaterThan(0);
    const partitions = dir?.topics[0]?.partitions ?? [];
    expect(partitions.map((p) => p.partitionIndex)).toEqual([0, 1]);
    expect(partitions[0]?.partitionSize).toBe(0);
    expect(partitions[1]?.partitionSize).toBe(batch.length);
    const all = await run(describeLogDirs, { topics: null }, context(1));
    expect(all.results[0]?.topics.map((t) => t.name)).toContain('t');
  });

  it('OffsetDelete: partitions of an unknown topic answer UNKNOWN_TOPIC_OR_PARTITION, the rest are deleted', async () => {
    const engine = await engines.start();
    const context = await contextFor(engine);
    await engine.createTopic('t', 2);
    const groups = context(0).deps.groups;
    await groups.commitOffsets({
      groupId: 'g',
      generationId: -1,
      memberId: '',
      topics: [{ topic: 't', partitions: [{ partition: 1, offset: 4, metadata: null }] }],
    });
    const answer = await run(
      offsetDelete,
      {
        groupId: 'g',
        topics: [
          { name: 'gone', partitions: [{ partitionIndex: 0 }] },
          { name: 't', partitions: [{ partitionIndex: 1 }] },
        ],
      },
      context(0),
    );
    expect(answer.errorCode).toBe(0);
    expect(answer.topics.map((t) => t.partitions[0]?.errorCode)).toEqual([
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      0,
    ]);
    expect((await groups.fetchOffsets({ groupId: 'g', topics: null })).topics).toEqual([]);
    const unknownGroup = await run(offsetDelete, { groupId: 'nobody', topics: [] }, context(0));
    expect(unknownGroup.errorCode).toBe(KafkaErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('DescribeConfigs v4: sources, synonyms, types and documentation when asked; v0 is_default', async () => {
    const engine = await engines.start();
    const context = await contextFor(engine);
    await engine.createTopic('t', 1, { retentionMs: 5000 });
    const ask = (version: number, includeSynonyms: boolean, includeDocumentation: boolean) =>
      run(
        describeConfigs,
        {
          resources: [
            { resourceType: 2, resourceName: 't', keys: ['retention.ms', 'segment.ms', 'cleanup.policy'] },
          ],
          includeSynonyms,
          includeDocumentation,
        },
        context(version),
      );
    const [result] = await ask(4, true, true);
    const byName = new Map(result?.configs.map((c) => [c.name, c]));
    expect(byName.get('retention.ms')).toMatchObject({
      value: '5000',
      configSource: 1,
      configType: 5,
      synonyms: [
        { name: 'retention.ms', value: '5000', source: 1 },
        { name: 'retention.ms', source: 5 },
      ],
    });
    expect(byName.get('retention.ms')?.documentation).toEqual(expect.any(String));
    expect(byName.get('segment.ms')).toMatchObject({ configSource: 5, synonyms: [{ source: 5 }] });
    expect(byName.get('cleanup.policy')).toMatchObject({ value: 'delete', configType: 7 });
    const [plain] = await ask(4, false, false);
    expect(plain?.configs.every((c) => c.synonyms?.length === 0 && c.documentation === null)).toBe(true);
    const [v0] = await ask(0, true, false);
    expect(v0?.configs.map((c) => [c.name, c.isDefault])).toEqual([
      ['cleanup.policy', true],
      ['retention.ms', false],
      ['segment.ms', true],
    ]);
    // The broker resource: the log cleaner's I/O budget under Kafka's name, as a double.
    const [broker] = await run(
      describeConfigs,
      {
        resources: [{ resourceType: 4, resourceName: '3', keys: ['log.cleaner.io.max.bytes.per.second'] }],
        includeSynonyms: false,
        includeDocumentation: false,
      },
      context(4),
    );
    expect(broker?.configs).toEqual([
      expect.objectContaining({
        name: 'log.cleaner.io.max.bytes.per.second',
        value: String(engine.config.logCleanerIoBytesPerSecond),
        configType: 6,
        readOnly: true,
      }),
    ]);
  });

  it('DeleteRecords: an internal topic is refused (INVALID_TOPIC_EXCEPTION), an unknown partition named, a user topic moved', async () => {
    const engine = await engines.start();
    const context = await contextFor(engine);
    await engine.createTopic('t', 1);
    const batch = buildRecordBatch([{ key: null, value: new Uint8Array(10) }]);
    for (let i = 0; i < 3; i++) await engine.produce('t', 0, batch, -1);
    const answer = await run(
      deleteRecords,
      {
        topics: [
          { name: '__consumer_offsets', partitions: [{ partitionIndex: 0, offset: -1 }] },
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, offset: -1 },
              { partitionIndex: 4, offset: 1 },
            ],
          },
        ],
        timeoutMs: 1000,
      },
      context(2),
    );
    expect(answer.topics.map((t) => t.partitions.map((p) => [p.errorCode, p.lowWatermark]))).toEqual([
      [[KafkaErrorCode.INVALID_TOPIC_EXCEPTION, -1]],
      [
        [0, 3],
        [KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
      ],
    ]);
  });
});
