import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyralogClient } from '../../src/client/index.js';
import { WsOpCode } from '../../src/protocol/ws/binary-frame.js';
import { ProduceBatchFrameBuilder } from '../../src/protocol/ws/produce-batch-frame.js';
import { encodeProduceBatch, readProduced } from '../../src/protocol/ws/produce-frame.js';
import { readError } from '../../src/protocol/ws/status-frame.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader, CompressionCodec } from '../../src/record/batch-header.js';
import { buildCompressedBatch } from '../../src/record/compression.js';
import { crc32c } from '../../src/record/crc32c.js';
import { type Broker, startBroker } from '../../src/server/broker.js';
import { testBrokerConfig } from '../support/engine-fixture.js';
import { runCommand } from '../support/run-command.js';
import { makeTempDir } from '../support/temp-dir.js';
import { BinaryPeer } from './ws-fixture.js';

/**
 * PRODUCE frames of kind 1 (a RecordBatch v2 built by the client) on the real broker: the client's
 * `produceFormat: 'batch'` writes records that a Kafka client (kcat) reads back identically, and
 * hostile kind-1 frames each get an ERROR frame with their id, append nothing, and leave the
 * connection serving.
 */
const text = new TextEncoder();
const MAX_FRAME_BYTES = 64 * 1024;

interface KcatMessage {
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

async function kcatRead(port: number, topic: string, partition: number): Promise<KcatMessage[]> {
  const output = await runCommand(
    'kcat',
    [
      '-b',
      `127.0.0.1:${port}`,
      '-C',
      '-t',
      topic,
      '-p',
      String(partition),
      '-o',
      'beginning',
      '-e',
      '-q',
      '-J',
    ],
    undefined,
    20_000,
  );
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KcatMessage);
}

/** A kind-1 frame of `count` records "v<i>" to `partition`. */
function batchFrame(topic: string, partition: number, count: number): Uint8Array {
  const builder = new ProduceBatchFrameBuilder(topic, partition, 1);
  for (let i = 0; i < count; i++) builder.add(null, text.encode(`v${i}`), 1000 + i, null);
  return builder.finish().slice();
}

/** Where the RecordBatch starts in a frame built by batchFrame for `topic`. */
function batchStart(topic: string): number {
  return 8 + 2 + text.encode(topic).length + 4 + 1 + 1;
}

describe('PRODUCE kind 1 (client-built RecordBatch) on the real broker', () => {
  let broker: Broker;
  const temp = makeTempDir('ws-batch');
  beforeAll(async () => {
    broker = await startBroker(testBrokerConfig(temp.dir, { maxFrameBytes: MAX_FRAME_BYTES }));
    await broker.engine.createTopic('batched', 2);
    await broker.engine.createTopic('hostile', 1);
    await broker.engine.createTopic('lent', 1);
  });
  afterAll(async () => {
    await broker.stop();
    temp.cleanup();
  });

  it("given produceFormat 'batch', the records read back through Kafka fetch as sent", async () => {
    const client = await PyralogClient.connect({
      url: `ws://127.0.0.1:${broker.httpPort}/ws`,
      lingerMs: 1,
      batchMaxRecords: 16,
      acks: -1,
      produceFormat: 'batch',
    });
    const sent = Array.from({ length: 120 }, (_, i) => ({
      partition: i % 2,
      key: i % 3 === 0 ? null : `key-${i}`,
      value: `value-${i}-${'z'.repeat(i)}`,
      timestampMs: 1_700_000_000_000 + i,
      headers: i % 4 === 0 ? { trace: `t${i}`, empty: '' } : undefined,
    }));
    try {
      const offsets = await Promise.all(sent.map((record) => client.produce('batched', record)));
      for (const partition of [0, 1]) {
        const mine = sent.filter((record) => record.partition === partition);
        expect(offsets.filter((o) => o.partition === partition).map((o) => o.offset)).toEqual(
          mine.map((_, i) => i),
        );
        const read = await kcatRead(broker.kafkaPort, 'batched', partition);
        expect(
          read.map((m) => ({
            offset: m.offset,
            ts: m.ts,
            key: m.key,
            payload: m.payload,
            headers: m.headers,
          })),
        ).toEqual(
          mine.map((record, i) => ({
            offset: i,
            ts: record.timestampMs,
            key: record.key,
            payload: record.value,
            headers: record.headers === undefined ? undefined : ['trace', record.headers.trace, 'empty', ''],
          })),
        );
      }
    } finally {
      await client.close();
    }
  }, 60_000);

  it("given produceFormat 'batch', a record with a bad timestamp fails alone and an emptied batch sends nothing", async () => {
    const client = await PyralogClient.connect({
      url: `ws://127.0.0.1:${broker.httpPort}/ws`,
      lingerMs: 1,
      acks: 1,
      produceFormat: 'batch',
    });
    try {
      const before = (await broker.engine.describePartitions('batched'))![1]!.logEndOffset;
      const outcomes = await Promise.allSettled([
        client.produce('batched', { value: 'a', partition: 1, timestampMs: 10 }),
        client.produce('batched', { value: 'b', partition: 1, timestampMs: 1.5 }),
        client.produce('batched', { value: 'c', partition: 1 }),
      ]);
      expect(
        outcomes.map((o) => (o.status === 'fulfilled' ? o.value.offset - before : o.reason.code)),
      ).toEqual([0, 'BAD_REQUEST', 1]);
      // A batch whose only record was refused: its linger timer finds it empty and sends nothing.
      await expect(
        client.produce('batched', { value: 'd', partition: 0, timestampMs: -7 }),
      ).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await client.flush();
      expect((await broker.engine.describePartitions('batched'))![1]!.logEndOffset).toBe(before + 2);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('given pipelined kind-1 frames, uncompressed and gzip (checked off the acceptor, after the message is gone), every batch lands intact', async () => {
    // The broker hands a ready batch to the engine as a view of the uWS message: the engine copies it into
    // the ring before the callback ends, or aside when it keeps it longer (a compressed batch's check).
    const peer = await BinaryPeer.open(`ws://127.0.0.1:${broker.httpPort}/ws`);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 12; i++) {
      const values = [`p${i}-a`, `p${i}-b`, `p${i}-c`];
      const records = values.map((value) => ({ key: null, value: text.encode(value) }));
      const batch =
        i % 2 === 0 ? buildRecordBatch(records) : buildCompressedBatch(records, CompressionCodec.GZIP);
      frames.push(encodeProduceBatch(100 + i, 'lent', 0, 1, batch).slice());
    }
    for (const frame of frames) peer.send(frame);
    const baseOffsets: number[] = [];
    for (let i = 0; i < frames.length; i++) {
      const reply = await peer.receive((m) => m.id === 100 + i, 10_000);
      expect(reply.op).toBe(WsOpCode.PRODUCED);
      baseOffsets.push(readProduced(reply.reader)[0]!.offset);
    }
    expect(baseOffsets).toEqual(Array.from({ length: 12 }, (_, i) => i * 3));
    const fetched = await kcatRead(broker.kafkaPort, 'lent', 0);
    expect(fetched.map((m) => m.payload)).toEqual(
      Array.from({ length: 12 }, (_, i) => [`p${i}-a`, `p${i}-b`, `p${i}-c`]).flat(),
    );
    peer.socket.close();
  }, 60_000);

  it('answers hostile kind-1 frames with an ERROR frame each, appends nothing, and keeps serving', async () => {
    const peer = await BinaryPeer.open(`ws://127.0.0.1:${broker.httpPort}/ws`);
    const good = batchFrame('hostile', 0, 3);
    const at = batchStart('hostile');
    const view = (frame: Uint8Array) => new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const resealed = (frame: Uint8Array): Uint8Array => {
      view(frame).setUint32(at + BatchHeader.CRC, crc32c(frame, at + BatchHeader.CRC_START));
      return frame;
    };
    const badCrc = good.slice();
    badCrc[badCrc.length - 1]! ^= 0xff;
    const longerThanSent = good.slice();
    view(longerThanSent).setInt32(at + BatchHeader.BATCH_LENGTH, good.length - at);
    const wrongCount = good.slice();
    view(wrongCount).setInt32(at + BatchHeader.RECORD_COUNT, 5);
    const noPartition = good.slice();
    view(noPartition).setInt32(at - 6, -1);
    const unknownKind = good.slice();
    unknownKind[at - 1] = 7;
    const cases: [string, Uint8Array, string][] = [
      ['cut in the batch header', good.slice(0, at + 30), 'BAD_REQUEST'],
      ['cut in the records', good.slice(0, good.length - 4), 'INVALID_RECORDS'],
      ['no batch at all', good.slice(0, at), 'BAD_REQUEST'],
      ['bad CRC', badCrc, 'INVALID_RECORDS'],
      ['batch length past the frame', longerThanSent, 'INVALID_RECORDS'],
      ['record count not the records', resealed(wrongCount), 'INVALID_RECORDS'],
      ['two batches where one goes', Uint8Array.from([...good, ...good.subarray(at)]), 'INVALID_RECORDS'],
      ['garbage after the batch', Uint8Array.from([...good, 1, 2, 3]), 'INVALID_RECORDS'],
      ['partition -1', noPartition, 'BAD_REQUEST'],
      [
        'partition 9 of 1',
        (() => {
          const frame = good.slice();
          view(frame).setInt32(at - 6, 9);
          return frame;
        })(),
        'BAD_REQUEST',
      ],
      ['unknown kind', unknownKind, 'BAD_REQUEST'],
      ['unknown op', Uint8Array.of(1, 0x55, 0, 0, 0, 0, 0, 0), 'BAD_REQUEST'],
    ];
    for (const [i, [what, frame, code]] of cases.entries()) {
      const id = 100 + i;
      peer.send(frame, id);
      const answer = await peer.reply(id);
      expect([what, answer.op]).toEqual([what, WsOpCode.ERROR]);
      expect([what, readError(answer.reader).code]).toEqual([what, code]);
    }
    const described = await broker.engine.describePartitions('hostile');
    expect(described?.[0]?.logEndOffset).toBe(0);
    // Still serving: a good frame on the same connection appends at offset 0.
    peer.send(good, 200);
    const produced = await peer.reply(200);
    expect(produced.op).toBe(WsOpCode.PRODUCED);
    expect(readProduced(produced.reader).map((o) => o.offset)).toEqual([0, 1, 2]);
    // Over the frame limit (and under twice it, past which uWS drops the connection without a word):
    // FRAME_TOO_LARGE and a 1009 close, nothing appended.
    const oversize = new ProduceBatchFrameBuilder('hostile', 0, 1);
    oversize.add(null, new Uint8Array(MAX_FRAME_BYTES + 1000), -1, null);
    peer.send(oversize.finish().slice(), 300);
    const tooLarge = await peer.reply(300);
    expect(readError(tooLarge.reader).code).toBe('FRAME_TOO_LARGE');
    expect((await peer.closed).code).toBe(1009);
    const read = await kcatRead(broker.kafkaPort, 'hostile', 0);
    expect(read.map((m) => [m.offset, m.payload])).toEqual([
      [0, 'v0'],
      [1, 'v1'],
      [2, 'v2'],
    ]);
  }, 60_000);
});
