import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * 200,000 partitions on one broker, as a user gets there: one Kafka
 * CreateTopics, then a SIGKILL and a SIGTERM restart, with produce, offsets
 * and Metadata through the real `pyralog serve` in between. Partitions open
 * on first use and idle ones close their files, so this fits a 20,000
 * descriptor limit, and neither the create nor a restart touches 200,000
 * directories. PYRALOG_MANY_PARTITIONS sets the count (200,000 by default).
 */
const PARTITIONS = Number(process.env.PYRALOG_MANY_PARTITIONS ?? 200_000);
const TOUCHED = [0, Math.floor(PARTITIONS / 2), PARTITIONS - 1];

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function createTopic(wire: KafkaWire, name: string, partitions: number): Promise<number> {
  wire.request(ApiKey.CREATE_TOPICS, 0, 1, (w) =>
    w.int32(1).string(name).int32(partitions).int16(1).int32(0).int32(0).int32(60_000),
  );
  const reader = (await wire.next(60_000))!.reader;
  reader.int32();
  reader.string();
  return reader.int16();
}

/** Produces one record with acks=-1; returns [error code, base offset]. */
async function produce(wire: KafkaWire, topic: string, partition: number, value: string): Promise<number[]> {
  const batch = buildRecordBatch([{ key: null, value: new TextEncoder().encode(value) }]);
  wire.request(ApiKey.PRODUCE, 3, 2, (w) =>
    w
      .nullableString(null)
      .int16(-1)
      .int32(30_000)
      .int32(1)
      .string(topic)
      .int32(1)
      .int32(partition)
      .bytesField(batch),
  );
  const reader = (await wire.next(30_000))!.reader;
  reader.int32();
  reader.string();
  reader.int32();
  reader.int32();
  const code = reader.int16();
  return [code, Number(reader.int64())];
}

/** ListOffsets latest for one partition: [error code, offset]. */
async function latestOffset(wire: KafkaWire, topic: string, partition: number): Promise<number[]> {
  wire.request(ApiKey.LIST_OFFSETS, 1, 3, (w) =>
    w.int32(-1).int32(1).string(topic).int32(1).int32(partition).int64(-1),
  );
  const reader = (await wire.next(30_000))!.reader;
  reader.int32();
  reader.string();
  reader.int32();
  reader.int32();
  const code = reader.int16();
  reader.int64();
  return [code, Number(reader.int64())];
}

/** Metadata v1 for one topic: its partitions' indexes and error codes. */
async function metadataPartitions(
  wire: KafkaWire,
  topic: string,
): Promise<{ index: number; code: number }[]> {
  wire.request(ApiKey.METADATA, 1, 4, (w) => w.int32(1).string(topic));
  const reader = (await wire.next(60_000))!.reader;
  const brokers = reader.int32();
  for (let i = 0; i < brokers; i++) {
    reader.int32();
    reader.string();
    reader.int32();
    reader.nullableString();
  }
  reader.int32(); // controller
  expect(reader.int32()).toBe(1);
  expect(reader.int16()).toBe(KafkaErrorCode.NONE);
  expect(reader.string()).toBe(topic);
  reader.int8(); // is_internal
  const count = reader.int32();
  const partitions: { index: number; code: number }[] = [];
  for (let i = 0; i < count; i++) {
    const code = reader.int16();
    const index = reader.int32();
    reader.int32(); // leader
    for (let list = 0; list < 2; list++) {
      const nodes = reader.int32();
      for (let n = 0; n < nodes; n++) reader.int32();
    }
    partitions.push({ index, code });
  }
  return partitions;
}

describe(`pyralog serve with ${PARTITIONS.toLocaleString('en')} partitions`, () => {
  let cleanup = (): void => {};
  let running: ServeProcess | null = null;
  afterEach(() => {
    running?.child.kill('SIGKILL');
    running = null;
    cleanup();
  });

  it('given one CreateTopics for all of them should create, serve, survive SIGKILL and SIGTERM restarts, and list them all', async () => {
    const temp = makeTempDir('many-partitions');
    cleanup = temp.cleanup;
    const args = ['--data', temp.dir, '--fsync', 'always'];
    running = await startServe(args);
    const pid = running.child.pid!;
    let wire = await KafkaWire.open(running.kafkaPort);
    const rssBeforeBytes = rssBytes(pid);

    let startedMs = Date.now();
    expect(await createTopic(wire, 'wide', PARTITIONS)).toBe(KafkaErrorCode.NONE);
    const createMs = Date.now() - startedMs;
    const rssAfterBytes = rssBytes(pid);
    for (const partition of TOUCHED) expect(await produce(wire, 'wide', partition, 'one')).toEqual([0, 0]);
    // Opened on first use: the create made no directory per partition.
    const topicDirs = readdirSync(`${temp.dir}/topics`);
    expect(topicDirs).toHaveLength(1);
    expect(readdirSync(`${temp.dir}/topics/${topicDirs[0]}`)).toHaveLength(TOUCHED.length);
    expect(openDescriptors(pid)).toBeLessThan(1000);
    wire.close();

    // Unclean stop: the partitions written are recovered when first used again.
    running.child.kill('SIGKILL');
    await running.exited;
    startedMs = Date.now();
    running = await startServe(args, 60_000);
    const killRestartMs = Date.now() - startedMs;
    wire = await KafkaWire.open(running.kafkaPort);
    startedMs = Date.now();
    const listed = await metadataPartitions(wire, 'wide');
    const metadataMs = Date.now() - startedMs;
    expect(listed).toHaveLength(PARTITIONS);
    expect(listed.every((entry, i) => entry.index === i && entry.code === KafkaErrorCode.NONE)).toBe(true);
    for (const partition of TOUCHED) expect(await latestOffset(wire, 'wide', partition)).toEqual([0, 1]);
    expect(await latestOffset(wire, 'wide', 1)).toEqual([0, 0]);
    for (const partition of TOUCHED) expect(await produce(wire, 'wide', partition, 'two')).toEqual([0, 1]);
    wire.close();

    // Clean stop and start: everything written is still there.
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    startedMs = Date.now();
    running = await startServe(args, 60_000);
    const termRestartMs = Date.now() - startedMs;
    wire = await KafkaWire.open(running.kafkaPort);
    for (const partition of TOUCHED) expect(await latestOffset(wire, 'wide', partition)).toEqual([0, 2]);
    expect(await produce(wire, 'wide', 7, 'new')).toEqual([0, 0]);
    wire.close();
    console.log(
      `${PARTITIONS} partitions: create ${createMs} ms (RSS +${((rssAfterBytes - rssBeforeBytes) / PARTITIONS).toFixed(0)} B per partition), ` +
        `restart after SIGKILL ${killRestartMs} ms, Metadata ${metadataMs} ms, restart after SIGTERM ${termRestartMs} ms`,
    );
  }, 120_000);
});
