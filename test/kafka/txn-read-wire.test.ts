import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PyralogClient } from '../../src/client/index.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { type FetchResponseData, fetchResponseDescription } from '../../src/protocol/kafka/fetch.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { runCommand } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * read_committed at the front doors of a real broker: Kafka Fetch v11 with
 * isolation_level 1 returns data only below the last stable offset with the
 * aborted transactions in range, ListOffsets v5 answers latest = LSO, and
 * the HTTP reads (JSON and Arrow) never show markers as records and with
 * `isolation=read_committed` leave out aborted data.
 *
 * Partition 0 holds: 0 a1 (aborted txn of producer A), 1 c1 (producer C),
 * 2 plain, 3 a2 (A), 4 ABORT(A), 5 COMMIT(C), 6 o1 (producer O, left open).
 */
const encoder = new TextEncoder();
const fetchResponse = messageCodec<FetchResponseData>(fetchResponseDescription);

describe('read_committed through the Kafka and HTTP front doors', () => {
  let broker: Broker;
  let cleanup = (): void => {};
  const ids = { a: 0, c: 0, o: 0 };

  beforeAll(async () => {
    const temp = makeTempDir('txn-wire');
    cleanup = temp.cleanup;
    broker = await startBroker(testBrokerConfig(temp.dir), { http: true });
    const engine = broker.engine;
    expect(await engine.createTopic('tx', 1)).toBe(KafkaErrorCode.NONE);
    ids.a = await engine.nextProducerId();
    ids.c = await engine.nextProducerId();
    ids.o = await engine.nextProducerId();
    const sequences = new Map<number, number>();
    const data = (producerId: number, value: string) => {
      const sequence = sequences.get(producerId) ?? 0;
      sequences.set(producerId, sequence + 1);
      return buildRecordBatch([{ key: null, value: encoder.encode(value) }], {
        producerId,
        producerEpoch: 0,
        baseSequence: sequence,
        transactional: true,
      });
    };
    const marker = (producerId: number, commit: boolean) =>
      engine.writeTxnMarker({
        topic: 'tx',
        partition: 0,
        producerId,
        producerEpoch: 0,
        commit,
        coordinatorEpoch: 0,
      });
    const produce = async (batch: Uint8Array) =>
      expect((await engine.produce('tx', 0, batch, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    await produce(data(ids.a, 'a1'));
    await produce(data(ids.c, 'c1'));
    await produce(buildRecordBatch([{ key: null, value: encoder.encode('plain') }]));
    await produce(data(ids.a, 'a2'));
    expect(await marker(ids.a, false)).toBe(KafkaErrorCode.NONE);
    expect(await marker(ids.c, true)).toBe(KafkaErrorCode.NONE);
    await produce(data(ids.o, 'o1'));
  });
  afterAll(async () => {
    await broker.stop();
    cleanup();
  });

  async function kafkaFetch(isolationLevel: number) {
    const wire = await KafkaWire.open(broker.kafkaPort);
    try {
      wire.request(ApiKey.FETCH, 11, 1, (w) => {
        w.int32(-1)
          .int32(0)
          .int32(0)
          .int32(1 << 20)
          .int8(isolationLevel)
          .int32(0)
          .int32(-1);
        w.array([0], (tw) =>
          tw.string('tx').array([0], (pw) => {
            pw.int32(0)
              .int32(-1)
              .int64(0)
              .int64(-1)
              .int32(1 << 20);
          }),
        );
        w.array([], () => {});
        w.string('');
      });
      const response = (await wire.next(10_000))!;
      return fetchResponse.decode(response.reader, 11).topics[0]!.partitions[0]!;
    } finally {
      wire.close();
    }
  }

  it('given Fetch v11 with isolation_level 1, it returns data below the LSO and the aborted transaction', async () => {
    const committed = await kafkaFetch(1);
    expect(committed.errorCode).toBe(KafkaErrorCode.NONE);
    expect(committed.highWatermark).toBe(7);
    expect(committed.lastStableOffset).toBe(6);
    expect(committed.abortedTransactions).toEqual([{ producerId: ids.a, firstOffset: 0 }]);
    const offsets = decodeRecordSet(committed.records).map((record) => record.offset);
    expect(offsets).toEqual([0, 1, 2, 3]);

    const uncommitted = await kafkaFetch(0);
    expect(uncommitted.lastStableOffset).toBe(6);
    expect(uncommitted.abortedTransactions).toBeNull();
    expect(decodeRecordSet(uncommitted.records).map((record) => record.offset)).toEqual([0, 1, 2, 3, 6]);
  });

  it('given ListOffsets v5 latest, read_committed answers the LSO and read_uncommitted the high watermark', async () => {
    const wire = await KafkaWire.open(broker.kafkaPort);
    try {
      const latest = async (isolationLevel: number, correlationId: number) => {
        wire.request(ApiKey.LIST_OFFSETS, 5, correlationId, (w) => {
          w.int32(-1).int8(isolationLevel);
          w.array([0], (tw) => tw.string('tx').array([0], (pw) => pw.int32(0).int32(-1).int64(-1)));
        });
        const reader = (await wire.next(10_000))!.reader;
        reader.int32(); // throttle
        const topics = reader.array((t) => ({
          name: t.string(),
          partitions: t.array((p) => ({
            partition: p.int32(),
            errorCode: p.int16(),
            timestampMs: p.int64(),
            offset: p.int64(),
            leaderEpoch: p.int32(),
          })),
        }));
        return topics[0]!.partitions[0]!;
      };
      expect((await latest(1, 2)).offset).toBe(6);
      expect((await latest(0, 3)).offset).toBe(7);
    } finally {
      wire.close();
    }
  });

  it('given confluent-kafka (librdkafka) consumers, read_committed sees committed data only and read_uncommitted all data', async () => {
    const script = `
import sys
from confluent_kafka import Consumer, TopicPartition
for level in ('read_committed', 'read_uncommitted'):
    c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'g-' + level, 'enable.auto.commit': False,
                  'isolation.level': level})
    c.assign([TopicPartition('tx', 0, 0)])
    values = []
    for _ in range(16):
        m = c.poll(0.25)
        if m is not None and m.error() is None:
            values.append(m.value().decode())
    c.close()
    print(level, ','.join(values))
`;
    const output = await runCommand(
      '/usr/bin/python3',
      ['-c', script, `127.0.0.1:${broker.kafkaPort}`],
      '',
      60_000,
    );
    expect(output.trim().split('\n')).toEqual([
      'read_committed c1,plain',
      'read_uncommitted a1,c1,plain,a2,o1',
    ]);
  }, 90_000);

  it('given HTTP reads, markers are never records and isolation=read_committed leaves out aborted data', async () => {
    const base = `http://127.0.0.1:${broker.httpPort}/topics/tx/partitions/0/records?offset=0`;
    const values = async (query: string) => {
      const answer = await fetch(`${base}${query}`);
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as {
        records: { offset: number; value: string }[];
        nextOffset: number;
      };
      return { values: body.records.map((record) => record.value), nextOffset: body.nextOffset };
    };
    expect(await values('')).toEqual({ values: ['a1', 'c1', 'plain', 'a2', 'o1'], nextOffset: 7 });
    expect(await values('&isolation=read_committed')).toEqual({ values: ['c1', 'plain'], nextOffset: 6 });
    const bad = await fetch(`${base}&isolation=serializable`);
    expect(bad.status).toBe(400);

    const arrow = async (query: string) => {
      const answer = await fetch(`${base}&format=arrow${query}`);
      expect(answer.status).toBe(200);
      const table = tableFromIPC(new Uint8Array(await answer.arrayBuffer()));
      return [...(table.getChild('value') ?? [])].map((bytes) =>
        new TextDecoder().decode(bytes as Uint8Array),
      );
    };
    expect(await arrow('')).toEqual(['a1', 'c1', 'plain', 'a2', 'o1']);
    expect(await arrow('&isolation=read_committed')).toEqual(['c1', 'plain']);
  });

  it('given WebSocket JSON fetches and subscriptions, isolation read_committed leaves out aborted data and markers', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${broker.httpPort}/ws`);
    const inbox: Record<string, unknown>[] = [];
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) inbox.push(JSON.parse(data.toString()) as Record<string, unknown>);
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const receive = async (match: (message: Record<string, unknown>) => boolean) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const index = inbox.findIndex(match);
        if (index >= 0) return inbox.splice(index, 1)[0]!;
        if (Date.now() > deadline) throw new Error('no matching message within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const values = (message: Record<string, unknown>) =>
      (message.records as { value: string }[]).map((record) => record.value);
    try {
      socket.send(
        JSON.stringify({ op: 'fetch', id: 1, topic: 'tx', partition: 0, offset: 0, maxBytes: 1 << 20 }),
      );
      expect(values(await receive((m) => m.id === 1))).toEqual(['a1', 'c1', 'plain', 'a2', 'o1']);
      socket.send(
        JSON.stringify({
          op: 'fetch',
          id: 2,
          topic: 'tx',
          partition: 0,
          offset: 0,
          isolation: 'read_committed',
        }),
      );
      const committed = await receive((m) => m.id === 2);
      expect(values(committed)).toEqual(['c1', 'plain']);
      expect(committed.nextOffset).toBe(6);
      socket.send(
        JSON.stringify({
          op: 'subscribe',
          id: 3,
          topic: 'tx',
          partition: 0,
          from: 'earliest',
          isolation: 'read_committed',
        }),
      );
      expect(await receive((m) => m.id === 3)).toMatchObject({ ok: true });
      expect(values(await receive((m) => m.sub === 3))).toEqual(['c1', 'plain']);
      socket.send(
        JSON.stringify({ op: 'fetch', id: 4, topic: 'tx', partition: 0, offset: 0, isolation: 'all' }),
      );
      expect(await receive((m) => m.id === 4)).toMatchObject({ ok: false });
    } finally {
      socket.close();
    }
  });

  it('given the TypeScript client, fetch and subscribe with isolation read_committed see only committed records', async () => {
    const client = await PyralogClient.connect({ url: `ws://127.0.0.1:${broker.httpPort}/ws` });
    try {
      const text = (value: Uint8Array | null) => new TextDecoder().decode(value ?? new Uint8Array(0));
      const all = await client.fetch('tx', 0, 0);
      expect(all.records.map((record) => text(record.value))).toEqual(['a1', 'c1', 'plain', 'a2', 'o1']);
      const committed = await client.fetch('tx', 0, 0, { isolation: 'read_committed' });
      expect(committed.records.map((record) => text(record.value))).toEqual(['c1', 'plain']);
      expect(committed.nextOffset).toBe(6);
      const subscription = client.subscribe('tx', 0, 'earliest', { isolation: 'read_committed' });
      const seen: string[] = [];
      for await (const record of subscription) {
        seen.push(text(record.value));
        if (seen.length === 2) break;
      }
      expect(seen).toEqual(['c1', 'plain']);
    } finally {
      await client.close();
    }
  });
});
