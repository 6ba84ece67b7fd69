import { cpSync, existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { partitionDir, TOPICS_DIR_NAME, topicDir } from '../../src/storage/partition-dirs.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Partition directories by topic id: a topic deleted and created again under
 * the same name, while clients auto-create it, never sees its predecessor's
 * records or committed offsets, before or after a restart; directories of
 * deleted topics do not outlive a start; the earlier by-name layout is moved
 * into place.
 */
const text = new TextEncoder();
const decoder = new TextDecoder();

async function readValues(broker: Broker, topic: string): Promise<string[]> {
  const outcome = await broker.engine.fetch({
    partitions: [{ topic, partition: 0, offset: 0 as Offset, maxBytes: 1 << 20 }],
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
  });
  const result = outcome.partitions[0]!;
  if (result.errorCode !== KafkaErrorCode.NONE) return [`error ${result.errorCode}`];
  return decodeRecordSet(result.records).map((record) => decoder.decode(record.value ?? new Uint8Array(0)));
}

async function commit(wire: KafkaWire, correlationId: number, offset: number): Promise<number> {
  wire.request(ApiKey.OFFSET_COMMIT, 2, correlationId, (w) =>
    w
      .string('g')
      .int32(-1)
      .string('')
      .int64(-1)
      .int32(1)
      .string('cycle')
      .int32(1)
      .int32(0)
      .int64(offset)
      .nullableString(null),
  );
  const reader = (await wire.next(10_000))!.reader;
  reader.int32();
  reader.string();
  reader.int32();
  reader.int32();
  return reader.int16();
}

async function committed(wire: KafkaWire, correlationId: number): Promise<number> {
  wire.request(ApiKey.OFFSET_FETCH, 1, correlationId, (w) =>
    w.string('g').int32(1).string('cycle').int32(1).int32(0),
  );
  const reader = (await wire.next(10_000))!.reader;
  reader.int32();
  reader.string();
  reader.int32();
  reader.int32();
  return reader.int64();
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadlineMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('partition directories by topic id', () => {
  let broker: Broker | null = null;
  let cleanup = (): void => {};
  afterEach(async () => {
    await broker?.stop();
    broker = null;
    cleanup();
  });

  it('given deletes and auto-creates of one name racing when restarted should show only the last topic, its records and offsets', async () => {
    const temp = makeTempDir('topic-dirs');
    cleanup = temp.cleanup;
    const config = testBrokerConfig(temp.dir, { fsync: 'always' });
    broker = await startBroker(config, { http: false });
    const admin = await KafkaWire.open(broker.kafkaPort);
    let correlationId = 1;
    expect(await broker.engine.createTopic('cycle', 1)).toBe(KafkaErrorCode.NONE);

    // Two clients ask for the topic's metadata with auto-creation on, all through the rounds.
    let racing = true;
    const autoCreators = await Promise.all([0, 1].map(() => KafkaWire.open(broker!.kafkaPort)));
    const autoCreating = autoCreators.map(async (wire) => {
      let id = 0;
      while (racing) {
        wire.request(ApiKey.METADATA, 4, id, (w) => w.int32(1).string('cycle').boolean(true));
        const answer = await wire.next(10_000);
        expect(answer?.correlationId).toBe(id++);
      }
    });

    const rounds = 8;
    for (let round = 1; round <= rounds; round++) {
      await until(() => broker!.engine.describeTopic('cycle') !== undefined);
      const before = broker.engine.describeTopic('cycle')!.topicId;
      const produced = await broker.engine.produce(
        'cycle',
        0,
        buildRecordBatch([{ key: null, value: text.encode(`round-${round}`) }]),
        -1,
      );
      expect(produced.errorCode).toBe(KafkaErrorCode.NONE);
      expect(await commit(admin, correlationId++, 1)).toBe(KafkaErrorCode.NONE);
      // The topic this round wrote holds only this round's record.
      expect(await readValues(broker, 'cycle')).toEqual([`round-${round}`]);
      admin.request(ApiKey.DELETE_TOPICS, 1, correlationId++, (w) =>
        w.int32(1).string('cycle').int32(10_000),
      );
      const deleted = (await admin.next(10_000))!.reader;
      deleted.int32();
      deleted.int32();
      deleted.string();
      expect(deleted.int16()).toBe(KafkaErrorCode.NONE);
      // Auto-created again by the racing clients, under a new id, empty, with no committed offset.
      await until(() => {
        const now = broker!.engine.describeTopic('cycle');
        return now !== undefined && now.topicId !== before;
      });
      expect(await readValues(broker, 'cycle')).toEqual([]);
      expect(await committed(admin, correlationId++)).toBe(-1);
    }
    racing = false;
    await Promise.all(autoCreating);
    for (const wire of autoCreators) wire.close();
    const last = await broker.engine.produce(
      'cycle',
      0,
      buildRecordBatch([{ key: null, value: text.encode('last') }]),
      -1,
    );
    expect(last.errorCode).toBe(KafkaErrorCode.NONE);
    expect(await commit(admin, correlationId++, 1)).toBe(KafkaErrorCode.NONE);
    const lastTopicId = broker.engine.describeTopic('cycle')!.topicId;
    admin.close();
    await broker.stop();

    broker = await startBroker(config, { http: false });
    expect(broker.engine.describeTopic('cycle')?.topicId).toBe(lastTopicId);
    expect(await readValues(broker, 'cycle')).toEqual(['last']);
    const wire = await KafkaWire.open(broker.kafkaPort);
    expect(await committed(wire, 1)).toBe(1);
    wire.close();
    // Only the topics the registry knows keep a directory.
    const known = new Set(broker.engine.listTopics().map((topic) => `${topic.topicId}-${topic.name}`));
    await until(() => readdirSync(join(temp.dir, TOPICS_DIR_NAME)).every((name) => known.has(name)));
  }, 120_000);

  it('given a data directory of the by-name layout and an orphan of a cut-short deletion when started should move each partition into place, serve it and remove the orphan', async () => {
    const temp = makeTempDir('topic-dirs-legacy');
    cleanup = temp.cleanup;
    const config = testBrokerConfig(temp.dir);
    broker = await startBroker(config, { http: false });
    await broker.engine.createTopic('old', 1);
    await broker.engine.produce('old', 0, buildRecordBatch([{ key: null, value: text.encode('kept') }]), -1);
    const topicId = broker.engine.describeTopic('old')!.topicId;
    await broker.stop();
    // A deletion a crash cut short: the registry no longer names the topic, its directory is left.
    const orphan = partitionDir(temp.dir, topicId + 1000, 'old', 0);
    cpSync(partitionDir(temp.dir, topicId, 'old', 0), orphan, { recursive: true });
    // As an earlier broker laid it out.
    renameSync(partitionDir(temp.dir, topicId, 'old', 0), join(temp.dir, 'old-0'));

    broker = await startBroker(config, { http: false });
    expect(await readValues(broker, 'old')).toEqual(['kept']);
    expect(existsSync(join(temp.dir, 'old-0'))).toBe(false);
    expect(existsSync(partitionDir(temp.dir, topicId, 'old', 0))).toBe(true);
    expect(existsSync(topicDir(temp.dir, topicId, 'old'))).toBe(true);
    await until(() => !existsSync(topicDir(temp.dir, topicId + 1000, 'old')));
  });
});
