import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startBrokerProcess } from '../tools/broker-process.js';
import { numberFlag } from './support/flags.js';

/**
 * `npm run bench -- transactions`: what transactions cost a producer, as ratios to an idempotent
 * producer in the same run, against one broker process (fsync always, the default). One kafkajs
 * producer sends batches of 100 records of 100 bytes to 4 partitions (one batch per partition
 * per send, acks=-1); transactional runs group 1, 10 or 100 sends per transaction, each ended by
 * a commit (AddPartitionsToTxn, EndTxn, and a marker per partition, each durable). The idempotent
 * run is measured first and last (after a warm-up of both kinds); ratios are to their mean.
 * Flags: --seconds=N (default 4).
 */
const PARTITIONS = 4;
const RECORDS_PER_BATCH = 100;
const VALUE = 'x'.repeat(100);

async function measure(
  producer: Producer,
  seconds: number,
  sendsPerTransaction: number | null,
): Promise<{ recordsPerSecond: number; transactions: number }> {
  const messages = Array.from({ length: PARTITIONS * RECORDS_PER_BATCH }, (_, i) => ({
    value: VALUE,
    partition: i % PARTITIONS,
  }));
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  let records = 0;
  let transactions = 0;
  while (performance.now() < endMs) {
    if (sendsPerTransaction === null) {
      await producer.send({ topic: 'bench', acks: -1, messages });
      records += messages.length;
      continue;
    }
    const transaction = await producer.transaction();
    for (let i = 0; i < sendsPerTransaction; i++) {
      await transaction.send({ topic: 'bench', acks: -1, messages });
      records += messages.length;
    }
    await transaction.commit();
    transactions++;
  }
  return { recordsPerSecond: records / ((performance.now() - startMs) / 1000), transactions };
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = numberFlag(args, 'seconds', 4);
  const dataDir = mkdtempSync(join(tmpdir(), 'pyralog-bench-txn-'));
  const broker = await startBrokerProcess(['--data', dataDir, '--shards', '2']);
  try {
    const kafka = new Kafka({
      clientId: 'txn-bench',
      brokers: [`127.0.0.1:${broker.kafkaPort}`],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'bench', numPartitions: PARTITIONS }] });
    await admin.disconnect();
    const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await idempotent.connect();
    const transactional = kafka.producer({
      transactionalId: 'bench-tx',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await transactional.connect();
    // Warm-up (V8 compiling the broker's and the client's hot paths, the first segment files), not counted.
    await measure(idempotent, Math.max(1, seconds / 2), null);
    await measure(transactional, Math.max(1, seconds / 2), 10);
    const first = await measure(idempotent, seconds, null);
    const rows: { name: string; recordsPerSecond: number; transactions: number }[] = [];
    for (const sends of [1, 10, 100]) {
      const result = await measure(transactional, seconds, sends);
      rows.push({
        name: `transactional, ${sends} batch${sends === 1 ? '' : 'es'}/partition per transaction`,
        ...result,
      });
    }
    const last = await measure(idempotent, seconds, null);
    const baseline = (first.recordsPerSecond + last.recordsPerSecond) / 2;
    console.log(`idempotent (first)  ${first.recordsPerSecond.toFixed(0)} records/s`);
    console.log(`idempotent (last)   ${last.recordsPerSecond.toFixed(0)} records/s`);
    for (const row of rows) {
      console.log(
        `${row.name.padEnd(58)} ${row.recordsPerSecond.toFixed(0)} records/s  ${(row.recordsPerSecond / baseline).toFixed(2)}x idempotent  (${row.transactions} transactions)`,
      );
    }
    await idempotent.disconnect();
    await transactional.disconnect();
  } finally {
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
