import { tableFromIPC } from 'apache-arrow';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyralogClient } from '../../src/client/index.js';
import { asOffset } from '../../src/common/offset.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { runCommand } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * A compacted topic on a real broker (shards, the cleaner thread): kafkajs
 * creates it with Kafka's config names and produces keyed records; the
 * cleaner runs in the background; kafkajs and kcat then read from the
 * beginning through the offset gaps it left.
 */
const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'];
const ROUNDS = 30;

describe('consumers reading a compacted topic through its gaps', () => {
  let broker: Broker;
  let cleanup = (): void => {};
  let kafka: Kafka;
  let bootstrap = '';

  beforeAll(async () => {
    const temp = makeTempDir('compaction-clients');
    cleanup = temp.cleanup;
    broker = await startBroker(testBrokerConfig(temp.dir), { http: true, retentionCheckIntervalMs: 50 });
    bootstrap = `127.0.0.1:${broker.kafkaPort}`;
    kafka = new Kafka({
      clientId: 'compaction-test',
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 3, initialRetryTime: 50 },
    });
  });
  afterAll(async () => {
    await broker.stop();
    cleanup();
  });

  /** Every record the partition serves now, as offset → "key=value" (null value shown as "null"). */
  async function served(topic: string): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    let offset = 0;
    for (let round = 0; round < 1000; round++) {
      const outcome = await broker.engine.fetch({
        partitions: [{ topic, partition: 0, offset: asOffset(offset), maxBytes: 1 << 20 }],
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
      });
      const partition = outcome.partitions[0]!;
      const records = decodeRecordSet(partition.records);
      if (partition.records.length === 0) break;
      for (const record of records) {
        if (record.offset < offset) continue;
        out.set(record.offset, `${text(record.key)}=${text(record.value)}`);
      }
      const view = new DataView(
        partition.records.buffer,
        partition.records.byteOffset,
        partition.records.byteLength,
      );
      // Past the last whole batch: its base offset plus lastOffsetDelta, whatever records it kept.
      let at = 0;
      let next = offset;
      while (at + 61 <= partition.records.length) {
        const base = Number(view.getBigInt64(at));
        next = base + view.getInt32(at + 23) + 1;
        at += view.getInt32(at + 8) + 12;
      }
      if (next <= offset) break;
      offset = next;
    }
    return out;
  }

  it('given keyed updates and a tombstone, when the cleaner has run, then kafkajs and kcat read the latest value per key at its original offset', async () => {
    const topic = 'compacted-clients';
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: 1,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'segment.bytes', value: '2048' },
              { name: 'min.cleanable.dirty.ratio', value: '0.01' },
              { name: 'delete.retention.ms', value: '0' },
            ],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    const produced = new Map<number, string>();
    const record = (key: string, value: string | null) => ({ key, value });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const messages = KEYS.map((key) =>
          record(key, key === 'k4' && round === ROUNDS - 1 ? null : `${key}-v${round}`),
        );
        const [result] = await producer.send({ topic, acks: -1, messages });
        const base = Number(result!.baseOffset);
        for (const [i, message] of messages.entries()) {
          produced.set(base + i, `${message.key}=${message.value ?? 'null'}`);
        }
      }
      // Filler under other keys, so the last round's records lie in closed (cleanable) segments.
      for (let i = 0; i < 40; i++) {
        const [result] = await producer.send({
          topic,
          acks: -1,
          messages: [record(`filler-${i}`, 'x'.repeat(40))],
        });
        produced.set(Number(result!.baseOffset), `filler-${i}=${'x'.repeat(40)}`);
      }
    } finally {
      await producer.disconnect();
    }

    // Bounded wait for the cleaner: until no key of the rounds appears twice.
    let now = await served(topic);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const keys = [...now.values()].map((entry) => entry.split('=')[0]!).filter((key) => KEYS.includes(key));
      if (keys.length === new Set(keys).size && !keys.includes('k4')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      now = await served(topic);
    }
    // Every record served is the one produced at that offset; the latest of each key is there; k4 is gone.
    for (const [offset, entry] of now) expect(entry).toBe(produced.get(offset));
    const expectedLatest = KEYS.slice(0, 4).map((key) => `${key}=${key}-v${ROUNDS - 1}`);
    expect([...now.values()].filter((entry) => KEYS.some((key) => entry.startsWith(`${key}=`)))).toEqual(
      expectedLatest,
    );
    expect(now.size).toBe(4 + 40);
    // The cleaner left gaps: the first record served is far past offset 0.
    expect(Math.min(...now.keys())).toBeGreaterThan(100);

    // The cleaner's work shows in /metrics.
    const metrics = await (await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`)).text();
    const total = (name: string) =>
      metrics
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    expect(total('pyralog_log_cleaner_records_removed_total')).toBeGreaterThanOrEqual(ROUNDS * 5 - 4);
    expect(total('pyralog_log_cleaner_segments_replaced_total')).toBeGreaterThan(0);
    expect(total('pyralog_log_cleaner_jobs_total')).toBeGreaterThan(0);
    // Each swap is timed on the shard: as many swaps as jobs that replaced segments, and none near a second.
    expect(total('pyralog_log_cleaner_swap_seconds_count')).toBeGreaterThan(0);
    expect(total('pyralog_log_cleaner_swap_seconds_count')).toBeLessThanOrEqual(
      total('pyralog_log_cleaner_jobs_total'),
    );
    expect(
      total('pyralog_log_cleaner_swap_seconds_sum') / total('pyralog_log_cleaner_swap_seconds_count'),
    ).toBeLessThan(1);

    // The HTTP JSON read, page by page from offset 0 with its nextOffset, serves the same records.
    const overHttp = new Map<number, string>();
    for (let offset = 0, page = 0; page < 100; page++) {
      const response = await fetch(
        `http://127.0.0.1:${broker.httpPort}/topics/${topic}/partitions/0/records?offset=${offset}&limit=7`,
      );
      const body = (await response.json()) as {
        records: { offset: number; key: string | null; value: string | null }[];
        nextOffset: number;
      };
      for (const r of body.records) overHttp.set(r.offset, `${r.key ?? 'null'}=${r.value ?? 'null'}`);
      if (body.nextOffset <= offset) break;
      offset = body.nextOffset;
    }
    expect(overHttp).toEqual(now);

    // The Arrow export, paged by the next offset in its metadata, serves the same records.
    const overArrow = new Map<number, string>();
    for (let offset = 0, page = 0; page < 100; page++) {
      const response = await fetch(
        `http://127.0.0.1:${broker.httpPort}/topics/${topic}/partitions/0/records?offset=${offset}&limit=7&format=arrow`,
      );
      expect(response.status).toBe(200);
      const table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
      const offsets = [...(table.getChild('offset') ?? [])].map(Number);
      const keys = [...(table.getChild('key') ?? [])] as (Uint8Array | null)[];
      const values = [...(table.getChild('value') ?? [])] as (Uint8Array | null)[];
      offsets.forEach((o, i) => {
        overArrow.set(o, `${text(keys[i] ?? null)}=${text(values[i] ?? null)}`);
      });
      const next = Number(table.schema.metadata.get('pyralog.next_offset'));
      if (next <= offset) break;
      offset = next;
    }
    expect(overArrow).toEqual(now);

    // The WebSocket client's fetch, paged by its nextOffset, serves the same records.
    const client = await PyralogClient.connect({ url: `ws://127.0.0.1:${broker.httpPort}/ws` });
    const overWs = new Map<number, string>();
    try {
      for (let offset = 0, page = 0; page < 100; page++) {
        const result = await client.fetch(topic, 0, offset, { maxBytes: 512 });
        for (const r of result.records) overWs.set(r.offset, `${text(r.key)}=${text(r.value)}`);
        if (result.nextOffset <= offset) break;
        offset = result.nextOffset;
      }
    } finally {
      await client.close();
    }
    expect(overWs).toEqual(now);

    // SQL over the topic loads it through the same reads: the same offsets.
    const sqlResponse = await fetch(`http://127.0.0.1:${broker.httpPort}/sql`, {
      method: 'POST',
      body: JSON.stringify({ sql: `SELECT "offset" FROM "${topic}" ORDER BY "offset"` }),
    });
    const sqlBody = (await sqlResponse.json()) as { rows: unknown[][] };
    expect(sqlResponse.status).toBe(200);
    expect(sqlBody.rows.map((row) => Number(row[0]))).toEqual([...now.keys()].sort((a, b) => a - b));

    // kafkajs: a consumer group from the beginning reads exactly those, through the gaps.
    const consumer = kafka.consumer({ groupId: 'compaction-readers', maxWaitTimeInMs: 100 });
    await consumer.connect();
    const consumed = new Map<number, string>();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          consumed.set(Number(message.offset), `${text(message.key)}=${text(message.value)}`);
        },
      });
      const until = Date.now() + 15_000;
      while (consumed.size < now.size && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await consumer.disconnect();
    }
    expect(consumed).toEqual(now);

    // kcat reads the same offsets, keys and values, and stops at the end (-e).
    const kcatOut = await runCommand('kcat', [
      '-b',
      bootstrap,
      '-C',
      '-t',
      topic,
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%o %k=%s\\n',
    ]);
    const kcatRecords = new Map(
      kcatOut
        .trim()
        .split('\n')
        .map((line) => {
          const space = line.indexOf(' ');
          return [Number(line.slice(0, space)), line.slice(space + 1)] as [number, string];
        }),
    );
    expect(kcatRecords).toEqual(now);
  });
});

function text(bytes: Uint8Array | Buffer | null): string {
  return bytes === null ? 'null' : new TextDecoder().decode(bytes);
}
