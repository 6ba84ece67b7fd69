import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PyralogClient } from '../../src/client/index.js';
import type { BrokerConfig } from '../../src/common/broker-config.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import type { Engine } from '../../src/engine/engine-api.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { renderMetrics } from '../../src/server/metrics-exposition.js';
import { STORAGE_FAULTS_ENV } from '../../src/storage/faulty-storage-io.js';
import { SYNC_ROUNDS_ENV } from '../../src/storage/group-commit.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { RequestLedger } from '../support/request-ledger.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Storage faults through the real broker: shard workers on threads, whose
 * storage I/O goes through the fault layer chosen by PYRALOG_STORAGE_FAULTS.
 * A failed write or sync answers every waiting produce KAFKA_STORAGE_ERROR
 * and takes that partition (only) offline; a partition that cannot open is
 * offline but never stops the broker starting; a sync that hangs is bounded
 * by the request timeout. Every request made must be answered.
 */
const text = new TextEncoder();

function batchOf(value: string): Uint8Array {
  return buildRecordBatch([{ key: null, value: text.encode(value) }]);
}

function metricValue(metrics: string, name: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function valuesOf(engine: Engine, topic: string, partition: number): Promise<string[]> {
  const outcome = await engine.fetch({
    partitions: [{ topic, partition, offset: 0 as Offset, maxBytes: 1 << 20 }],
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
  });
  const part = outcome.partitions[0]!;
  expect(part.errorCode).toBe(KafkaErrorCode.NONE);
  return decodeRecordSet(part.records).map((record) => new TextDecoder().decode(record.value!));
}

describe('storage faults through the real broker', () => {
  let broker: Broker | null = null;
  let ledger = new RequestLedger();
  let cleanup = (): void => {};
  const logLines: string[] = [];

  afterEach(async () => {
    try {
      await ledger.assertAllAnswered(5_000);
    } finally {
      delete process.env[STORAGE_FAULTS_ENV];
      delete process.env[SYNC_ROUNDS_ENV];
      await broker?.stop();
      broker = null;
      ledger = new RequestLedger();
      logLines.length = 0;
      cleanup();
    }
  });

  async function start(dir: string, faults: string, overrides: Partial<BrokerConfig> = {}): Promise<Engine> {
    if (faults === '') delete process.env[STORAGE_FAULTS_ENV];
    else process.env[STORAGE_FAULTS_ENV] = faults;
    const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
    broker = await startBroker(testBrokerConfig(dir, { fsync: 'always', ...overrides }), { logger });
    return ledger.track(broker.engine);
  }

  it('given an fdatasync that fails with EIO, then waiting produces get KAFKA_STORAGE_ERROR, the partition goes offline, and the others keep serving', async () => {
    const temp = makeTempDir('fault-sync');
    cleanup = temp.cleanup;
    const engine = await start(temp.dir, 'op=sync,code=EIO,path=-orders/0/');
    expect(await engine.createTopic('orders', 2)).toBe(KafkaErrorCode.NONE);
    expect(await engine.createTopic('other', 1)).toBe(KafkaErrorCode.NONE);

    const failed = await Promise.all([
      engine.produce('orders', 0, batchOf('a'), -1),
      engine.produce('orders', 0, batchOf('b'), -1),
    ]);
    for (const outcome of failed) expect(outcome.errorCode).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);

    // Offline until restart: produce, fetch and list offsets all say so.
    const later = await engine.produce('orders', 0, batchOf('c'), 1);
    expect(later.errorCode).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);
    expect(later.errorMessage).toContain('offline');
    const fetched = await engine.fetch({
      partitions: [{ topic: 'orders', partition: 0, offset: 0 as Offset, maxBytes: 1024 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1024,
    });
    expect(fetched.partitions[0]!.errorCode).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);
    expect((await engine.listOffsets('orders', 0, -1)).errorCode).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);

    // The other partitions keep serving, durably.
    expect((await engine.produce('orders', 1, batchOf('x'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('other', 0, batchOf('y'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect(await valuesOf(engine, 'orders', 1)).toEqual(['x']);

    // The Kafka front door.
    const kafka = new Kafka({
      clientId: 'faults',
      brokers: [`127.0.0.1:${broker!.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    // Metadata v5 shows the replica offline: out of the ISR, this broker among the offline replicas.
    const wire = await KafkaWire.open(broker!.kafkaPort);
    try {
      wire.request(ApiKey.METADATA, 5, 1, (w) => w.int32(1).string('orders').boolean(false));
      const reader = (await wire.next())!.reader;
      reader.int32(); // throttle
      reader.array((r) => [r.int32(), r.string(), r.int32(), r.nullableString()]); // brokers
      reader.nullableString(); // cluster id
      reader.int32(); // controller
      reader.int32(); // topics
      expect(reader.int16()).toBe(KafkaErrorCode.NONE);
      expect(reader.string()).toBe('orders');
      reader.boolean();
      const partitions = reader.array((r) => ({
        errorCode: r.int16(),
        index: r.int32(),
        leader: r.int32(),
        replicas: r.array((n) => n.int32()),
        isr: r.array((n) => n.int32()),
        offline: r.array((n) => n.int32()),
      }));
      const nodeId = broker!.config.nodeId;
      expect(partitions).toEqual([
        {
          errorCode: KafkaErrorCode.NONE,
          index: 0,
          leader: nodeId,
          replicas: [nodeId],
          isr: [],
          offline: [nodeId],
        },
        {
          errorCode: KafkaErrorCode.NONE,
          index: 1,
          leader: nodeId,
          replicas: [nodeId],
          isr: [nodeId],
          offline: [],
        },
      ]);
    } finally {
      wire.close();
    }
    // A real client is answered KAFKA_STORAGE_ERROR for it, and the other partition takes its records.
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      const refused = await producer
        .send({ topic: 'orders', acks: -1, messages: [{ partition: 0, value: 'k' }] })
        .then(
          () => null,
          (error: { type?: string; cause?: { type?: string } }) => error.cause?.type ?? error.type,
        );
      expect(refused).toBe('KAFKA_STORAGE_ERROR');
      await producer.send({ topic: 'orders', acks: -1, messages: [{ partition: 1, value: 'k' }] });
    } finally {
      await producer.disconnect();
    }

    // The HTTP front door answers 503 for the offline partition, and shows it offline; the others serve.
    const http = `http://127.0.0.1:${broker!.httpPort}`;
    const refusedHttp = await fetch(`${http}/topics/orders/records`, {
      method: 'POST',
      body: JSON.stringify([{ value: 'h', partition: 0 }]),
    });
    expect(refusedHttp.status).toBe(503);
    expect(await refusedHttp.text()).toContain('is offline');
    const servedHttp = await fetch(`${http}/topics/orders/records`, {
      method: 'POST',
      body: JSON.stringify([{ value: 'h', partition: 1 }]),
    });
    expect(servedHttp.status).toBe(200);
    const topic = (await (await fetch(`${http}/topics/orders`)).json()) as {
      partitions: { partition: number; error?: string }[];
    };
    expect(topic.partitions.map((p) => p.error)).toEqual(['KAFKA_STORAGE_ERROR', undefined]);

    // The WebSocket front door refuses the offline partition with an error and serves the others.
    const client = await PyralogClient.connect({ url: `ws://127.0.0.1:${broker!.httpPort}/ws`, lingerMs: 1 });
    try {
      const wsRefused = await client.produce('orders', { value: 'w', partition: 0 }).then(
        () => '',
        (error: unknown) => String(error),
      );
      expect(wsRefused).toContain('offline');
      await client.produce('orders', { value: 'w', partition: 1 });
    } finally {
      await client.close();
    }

    // A clear log line and the boundary metrics.
    const offlineLine = logLines.find((line) => line.includes('partition offline'));
    expect(offlineLine).toBeDefined();
    expect(JSON.parse(offlineLine!)).toMatchObject({ topic: 'orders', partition: 0 });
    expect(offlineLine).toContain('fdatasync failed');
    const metrics = renderMetrics(broker!.engine);
    expect(metricValue(metrics, 'pyralog_partitions_offline')).toBe(1);
    expect(metricValue(metrics, 'pyralog_storage_errors_total')).toBe(1);
    expect([...broker!.engine.offlinePartitions().keys()]).toEqual(['orders-0']);
  });

  it('given a write that fails with ENOSPC after landing a torn prefix, then the produce fails, and a restart serves what was whole and carries on', async () => {
    const temp = makeTempDir('fault-write');
    cleanup = temp.cleanup;
    // Writes to the log file: 1 and 2 succeed, the 3rd lands 30 bytes and fails.
    let engine = await start(temp.dir, 'op=write,code=ENOSPC,path=-torn/0/0,after=2,torn=30');
    expect(await engine.createTopic('torn', 1)).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('torn', 0, batchOf('one'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('torn', 0, batchOf('two'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    const third = await engine.produce('torn', 0, batchOf('three'), -1);
    expect(third.errorCode).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);
    expect(third.errorMessage).toContain('ENOSPC');
    expect((await engine.produce('torn', 0, batchOf('four'), -1)).errorCode).toBe(
      KafkaErrorCode.KAFKA_STORAGE_ERROR,
    );
    await ledger.assertAllAnswered(5_000);
    await broker!.stop();

    engine = await start(temp.dir, '');
    expect(await valuesOf(engine, 'torn', 0)).toEqual(['one', 'two']);
    const next = await engine.produce('torn', 0, batchOf('five'), -1);
    expect(next.errorCode).toBe(KafkaErrorCode.NONE);
    expect(next.baseOffset).toBe(2);
  });

  it('given a partition whose files cannot be opened, then the broker still starts, that partition is offline, and the rest serve', async () => {
    const temp = makeTempDir('fault-open');
    cleanup = temp.cleanup;
    let engine = await start(temp.dir, '');
    expect(await engine.createTopic('broken', 2)).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('broken', 0, batchOf('kept'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect((await engine.produce('broken', 1, batchOf('fine'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    await broker!.stop();

    engine = await start(temp.dir, 'op=open,code=EIO,path=-broken/0/');
    const produced = await engine.produce('broken', 0, batchOf('lost'), -1);
    expect(produced.errorCode).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);
    expect(produced.errorMessage).toContain('cannot open');
    expect(await valuesOf(engine, 'broken', 1)).toEqual(['fine']);
    expect(broker!.engine.offlinePartitions().get('broken-0')).toContain('EIO');
    expect(logLines.some((line) => line.includes('partition offline') && line.includes('cannot open'))).toBe(
      true,
    );
    const described = await engine.describePartitions('broken');
    expect(described?.[0]?.errorCode).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);
    expect(described?.[1]?.errorCode).toBe(KafkaErrorCode.NONE);
    await broker!.stop();

    // Without the fault, a restart brings it back with its data.
    engine = await start(temp.dir, '');
    expect(await valuesOf(engine, 'broken', 0)).toEqual(['kept']);
  });

  it('given an fdatasync that never completes, then an acks=-1 produce is answered REQUEST_TIMED_OUT within the request timeout', async () => {
    const temp = makeTempDir('fault-hang');
    cleanup = temp.cleanup;
    const engine = await start(temp.dir, 'op=sync,code=HANG,path=-stuck/0/0', {
      requestTimeoutMs: 400,
      shutdownTimeoutMs: 500,
    });
    expect(await engine.createTopic('stuck', 2)).toBe(KafkaErrorCode.NONE);
    const startedMs = Date.now();
    const outcome = await engine.produce('stuck', 0, batchOf('waits'), -1);
    expect(outcome.errorCode).toBe(KafkaErrorCode.REQUEST_TIMED_OUT);
    expect(Date.now() - startedMs).toBeLessThan(2_000);
    expect((await engine.produce('stuck', 1, batchOf('fine'), -1)).errorCode).toBe(KafkaErrorCode.NONE);
    expect(metricValue(renderMetrics(broker!.engine), 'pyralog_requests_timed_out_total')).toBe(1);
  });

  it('given one shard whose partitions sync in rounds and one partition whose fdatasync never completes, then acks=-1 produces to the other partitions keep being answered, and none to the stuck one', async () => {
    const temp = makeTempDir('fault-hang-rounds');
    cleanup = temp.cleanup;
    process.env[SYNC_ROUNDS_ENV] = '1'; // read by the shard workers as they start
    const engine = await start(temp.dir, 'op=sync,code=HANG,path=-held/0/0', {
      shardCount: 1,
      requestTimeoutMs: 1_000,
      shutdownTimeoutMs: 500,
    });
    expect(await engine.createTopic('held', 3)).toBe(KafkaErrorCode.NONE);
    const stuck = engine.produce('held', 0, batchOf('waits'), -1);
    for (let round = 0; round < 5; round++) {
      const startedMs = Date.now();
      const answers = await Promise.all([
        engine.produce('held', 1, batchOf(`one ${round}`), -1),
        engine.produce('held', 2, batchOf(`two ${round}`), -1),
      ]);
      expect(answers.map((answer) => answer.errorCode)).toEqual([KafkaErrorCode.NONE, KafkaErrorCode.NONE]);
      // The round held by the stuck sync lets the next one start after ROUND_STRAGGLER_WAIT_MS, not the timeout.
      expect(Date.now() - startedMs).toBeLessThan(500);
    }
    expect((await stuck).errorCode).toBe(KafkaErrorCode.REQUEST_TIMED_OUT);
    expect(await valuesOf(engine, 'held', 1)).toEqual(['one 0', 'one 1', 'one 2', 'one 3', 'one 4']);
  });

  it("given a Kafka produce with acks=-1 and a timeout_ms shorter than the broker's, then a sync that never completes is answered REQUEST_TIMED_OUT within timeout_ms", async () => {
    const temp = makeTempDir('fault-timeout-ms');
    cleanup = temp.cleanup;
    const engine = await start(temp.dir, 'op=sync,code=HANG,path=-slow/0/0', {
      requestTimeoutMs: 20_000,
      shutdownTimeoutMs: 500,
    });
    expect(await engine.createTopic('slow', 1)).toBe(KafkaErrorCode.NONE);
    const kafka = new Kafka({
      clientId: 'timeout-ms',
      brokers: [`127.0.0.1:${broker!.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      const startedMs = Date.now();
      const refused = await producer
        .send({ topic: 'slow', acks: -1, timeout: 300, messages: [{ partition: 0, value: 'waits' }] })
        .then(
          () => null,
          (error: { type?: string; cause?: { type?: string } }) => error.cause?.type ?? error.type,
        );
      expect(refused).toBe('REQUEST_TIMED_OUT');
      expect(Date.now() - startedMs).toBeLessThan(5_000);
    } finally {
      await producer.disconnect();
    }
  });

  it('given fsync always and a sync that has not completed, then consumers see nothing past the durable offset and an idempotent retry is not acknowledged', async () => {
    const temp = makeTempDir('fault-visibility');
    cleanup = temp.cleanup;
    const engine = await start(temp.dir, 'op=sync,code=HANG,path=-pending/0/0', {
      requestTimeoutMs: 400,
      shutdownTimeoutMs: 500,
    });
    expect(await engine.createTopic('pending', 1)).toBe(KafkaErrorCode.NONE);
    // acks=1 is answered once written; the record is not durable, so it is not visible.
    const written = await engine.produce('pending', 0, batchOf('not yet durable'), 1);
    expect(written.errorCode).toBe(KafkaErrorCode.NONE);
    const fetched = await engine.fetch({
      partitions: [{ topic: 'pending', partition: 0, offset: 0 as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
    });
    expect(fetched.partitions[0]!.errorCode).toBe(KafkaErrorCode.NONE);
    expect(fetched.partitions[0]!.records.length).toBe(0);
    expect(fetched.partitions[0]!.highWatermark).toBe(0);
    expect((await engine.listOffsets('pending', 0, -1)).offset).toBe(0);
    const [described] = (await engine.describePartitions('pending'))!;
    expect(described).toMatchObject({ logEndOffset: 1, highWatermark: 0 });

    // An idempotent batch waiting for its sync, then its retry: neither is acknowledged before it is durable.
    const idempotent = buildRecordBatch([{ key: null, value: text.encode('once') }], {
      producerId: await engine.nextProducerId(),
      producerEpoch: 0,
      baseSequence: 0,
    });
    const first = await engine.produce('pending', 0, idempotent.slice(), -1);
    expect(first.errorCode).toBe(KafkaErrorCode.REQUEST_TIMED_OUT);
    const retry = await engine.produce('pending', 0, idempotent.slice(), -1);
    expect(retry.errorCode).toBe(KafkaErrorCode.REQUEST_TIMED_OUT);
  });
});
