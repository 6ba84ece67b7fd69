import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import { type FetchResponseData, fetchResponseDescription } from '../../src/protocol/kafka/fetch.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * SIGKILL of a real broker process with one transaction committed, one
 * aborted and one left open (kafkajs, through the transaction coordinator):
 * after the restart, read_committed Fetch answers the same high watermark,
 * last stable offset and aborted transactions as before the kill, and the
 * same records.
 */
const fetchResponse = messageCodec<FetchResponseData>(fetchResponseDescription);

async function fetchCommitted(port: number) {
  const wire = await KafkaWire.open(port);
  try {
    wire.request(ApiKey.FETCH, 11, 1, (w) => {
      w.int32(-1)
        .int32(0)
        .int32(0)
        .int32(1 << 20)
        .int8(1)
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
    const partition = fetchResponse.decode((await wire.next(10_000))!.reader, 11).topics[0]!.partitions[0]!;
    return {
      highWatermark: partition.highWatermark,
      lastStableOffset: partition.lastStableOffset,
      abortedTransactions: partition.abortedTransactions,
      offsets: decodeRecordSet(partition.records).map((record) => record.offset),
    };
  } finally {
    wire.close();
  }
}

describe('transactions across a broker SIGKILL', () => {
  const temp = makeTempDir('txn-broker-crash');
  let serve: ServeProcess | null = null;
  afterEach(async () => {
    serve?.child.kill('SIGKILL');
    await serve?.exited;
    serve = null;
    temp.cleanup();
  });

  it('given committed, aborted and open transactions, the restarted broker answers the same LSO and aborted transactions', async () => {
    serve = await startServe(['--data', temp.dir, '--shards', '1']);
    const kafka = new Kafka({
      clientId: 'txn-crash',
      brokers: [`127.0.0.1:${serve.kafkaPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 50 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'tx', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ transactionalId: 'crash-1', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic: 'tx', messages: [{ value: 'c1' }, { value: 'c2' }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic: 'tx', messages: [{ value: 'a1' }] });
    await aborted.abort();
    const open = await producer.transaction();
    await open.send({ topic: 'tx', messages: [{ value: 'o1' }] });
    await producer.disconnect();

    const before = await fetchCommitted(serve.kafkaPort);
    // c1 c2 at 0-1, COMMIT 2, a1 3, ABORT 4, o1 5 (open): the LSO holds at 5.
    expect(before.highWatermark).toBe(6);
    expect(before.lastStableOffset).toBe(5);
    expect(before.abortedTransactions).toEqual([{ producerId: expect.any(Number), firstOffset: 3 }]);

    serve.child.kill('SIGKILL');
    await serve.exited;
    serve = await startServe(['--data', temp.dir, '--shards', '1']);
    expect(await fetchCommitted(serve.kafkaPort)).toEqual(before);
  }, 90_000);
});
