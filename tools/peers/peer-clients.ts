import { type JetStreamClient, type NatsConnection, connect as natsConnect, StorageType } from 'nats';
import { createClient } from 'redis';
import { LeanKafkaProducer } from '../../src/cli/bench/lean-kafka-producer.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';

/**
 * One interface over the systems compared: send `count` records of
 * `recordBytes` and resolve when the system acknowledged them. Pyralog gets
 * them as one RecordBatch over the Kafka protocol; Redis as `count` XADDs
 * (node-redis pipelines concurrent commands); NATS JetStream as `count`
 * publishes, each acknowledged by the stream.
 */
export interface PeerClient {
  readonly name: string;
  send(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function pyralogClient(
  port: number,
  recordBytes: number,
  acks: 1 | -1,
  partitions: number,
  connections = 4,
): Promise<PeerClient> {
  const producers = await Promise.all(
    Array.from({ length: connections }, () => LeanKafkaProducer.connect(port)),
  );
  const value = new Uint8Array(recordBytes).fill(1);
  const batches = new Map<number, Uint8Array>();
  let next = 0;
  return {
    name: 'pyralog',
    async send(count) {
      let batch = batches.get(count);
      if (batch === undefined) {
        batch = buildRecordBatch(Array.from({ length: count }, () => ({ key: null, value })));
        batches.set(count, batch);
      }
      const i = next++;
      const ack = await producers[i % producers.length]!.produce(
        'peers',
        i % partitions,
        batch.slice(),
        acks,
      );
      if (ack.errorCode !== 0) throw new Error(`produce failed with Kafka error ${ack.errorCode}`);
    },
    async close() {
      for (const producer of producers) producer.close();
    },
  };
}

export async function redisClient(port: number, recordBytes: number): Promise<PeerClient> {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  await client.connect();
  const value = Buffer.alloc(recordBytes, 1);
  return {
    name: 'redis',
    async send(count) {
      const adds: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) adds.push(client.xAdd('peers', '*', { v: value }));
      await Promise.all(adds);
    },
    async close() {
      await client.quit();
    },
  };
}

export async function natsClient(port: number, recordBytes: number): Promise<PeerClient> {
  const connection: NatsConnection = await natsConnect({ servers: `127.0.0.1:${port}` });
  const manager = await connection.jetstreamManager();
  await manager.streams.add({ name: 'PEERS', subjects: ['peers'], storage: StorageType.File });
  const js: JetStreamClient = connection.jetstream();
  const value = new Uint8Array(recordBytes).fill(1);
  return {
    name: 'nats-jetstream',
    async send(count) {
      const publishes: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) publishes.push(js.publish('peers', value, { timeout: 60_000 }));
      await Promise.all(publishes);
    },
    async close() {
      await connection.drain();
    },
  };
}
