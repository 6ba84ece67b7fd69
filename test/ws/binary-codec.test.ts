import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeArrowRequest } from '../../src/protocol/ws/arrow-frame.js';
import { FrameError, FrameReader, FrameWriter, WsOpCode } from '../../src/protocol/ws/binary-frame.js';
import { decodeBinaryRequest } from '../../src/protocol/ws/binary-request.js';
import {
  encodeCommit,
  encodeOffsetReply,
  encodeOffsetRequest,
  readOffsetReply,
} from '../../src/protocol/ws/consumer-offset-frame.js';
import {
  encodeFetch,
  nextOffsetAfter,
  readRecordsFrame,
  recordsHead,
} from '../../src/protocol/ws/fetch-frame.js';
import {
  encodeProduceBatch,
  encodeProduced,
  ProduceFrameBuilder,
  readProduced,
  splitIntoBatches,
} from '../../src/protocol/ws/produce-frame.js';
import { encodeError, readError } from '../../src/protocol/ws/status-frame.js';
import {
  encodeSubscribe,
  encodeSubscribed,
  encodeUnsubscribe,
  readSubscribed,
} from '../../src/protocol/ws/subscribe-frame.js';
import type { ProduceRequest } from '../../src/protocol/ws/ws-request.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeBatchRecords } from '../../src/record/batch-reader.js';
import type { ProducedRecord } from '../../src/record/record.js';

/** The binary frame codecs: byte fixtures from docs/websocket.md, round trips, and refusals. */
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

function frameOf(records: readonly ProducedRecord[], partition = 0): Uint8Array {
  const builder = new ProduceFrameBuilder('t', partition, 1);
  for (const r of records) builder.add(r.key, r.value, r.timestampMs ?? -1, r.headers ?? null);
  return builder.finish().slice();
}

function produceOf(frame: Uint8Array): ProduceRequest {
  const request = decodeBinaryRequest(frame);
  if (request.op !== 'produce') throw new Error(`decoded ${request.op}`);
  return request;
}

describe('binary frame fixtures (docs/websocket.md)', () => {
  it('FETCH id 7 of "t" partition 0 from offset 5, 1 MiB, no wait has the documented bytes', () => {
    const bytes = fromHex(`
      01 02 00 00 00 00 00 07
      00 01 74
      00 00 00 00
      40 14 00 00 00 00 00 00
      00 10 00 00
      00 00 00 00`);
    expect(hex(encodeFetch(7, 't', 0, 5, 1048576, 0))).toBe(hex(bytes));
    expect(decodeBinaryRequest(bytes)).toEqual({
      op: 'fetch',
      id: 7,
      topic: 't',
      partition: 0,
      offset: 5,
      maxBytes: 1048576,
      maxWaitMs: 0,
      encoding: 'utf8',
      isolationLevel: 0,
    });
    // read_committed adds one trailing byte; frames without it read as read_uncommitted.
    const committed = encodeFetch(7, 't', 0, 5, 1048576, 0, 1);
    expect(hex(committed)).toBe(`${hex(bytes)}01`);
    expect(decodeBinaryRequest(committed)).toMatchObject({ op: 'fetch', isolationLevel: 1 });
  });

  it('PRODUCE of one record (key "k", value "v", time 1000, header h=x) to partition 0 has the documented bytes', () => {
    const bytes = fromHex(`
      01 01 00 00 00 00 00 00
      00 01 74
      00 00 00 00
      01
      00
      00 00 00 01
      00 00 00 01 6b
      00 00 00 01 76
      40 8f 40 00 00 00 00 00
      00 01
      00 01 68 00 00 00 01 78`);
    const frame = frameOf([
      {
        key: Uint8Array.of(0x6b),
        value: Uint8Array.of(0x76),
        timestampMs: 1000,
        headers: [{ key: 'h', value: Uint8Array.of(0x78) }],
      },
    ]);
    expect(hex(frame)).toBe(hex(bytes));
  });

  it('PRODUCED for three records over two partitions lists the groups and each record slot', () => {
    const frame = encodeProduced(
      9,
      [
        { partition: 1, baseOffset: 40, recordCount: 2 },
        { partition: 0, baseOffset: 7, recordCount: 1 },
      ],
      Int32Array.of(0, 1, 0),
    );
    expect(hex(frame)).toBe(
      hex(
        fromHex(`
          01 81 00 00 00 00 00 09
          00 02
          00 00 00 01 40 44 00 00 00 00 00 00 00 00 00 02
          00 00 00 00 40 1c 00 00 00 00 00 00 00 00 00 01
          00 00 00 03 00 00 00 01 00 00`),
      ),
    );
    expect(readProduced(new FrameReader(frame, 9))).toEqual([
      { partition: 1, offset: 40 },
      { partition: 0, offset: 7 },
      { partition: 1, offset: 41 },
    ]);
  });

  it('ERROR carries a code and a message', () => {
    const frame = encodeError(3, 'UNKNOWN_TOPIC', 'topic "x" does not exist');
    expect(hex(frame.subarray(0, 10))).toBe('01ff00000000000300' + '0d');
    expect(readError(new FrameReader(frame, 3))).toEqual({
      code: 'UNKNOWN_TOPIC',
      message: 'topic "x" does not exist',
    });
  });
});

const recordArbitrary: fc.Arbitrary<ProducedRecord> = fc.record({
  key: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
  timestampMs: fc.integer({ min: 0, max: 2 ** 45 }),
  headers: fc.array(
    fc.record({
      key: fc.string({ minLength: 1, maxLength: 8 }),
      value: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }),
    }),
    { maxLength: 3 },
  ),
});

describe('PRODUCE records to RecordBatch', () => {
  it('turns any records for one partition into the very bytes buildRecordBatch makes', () => {
    fc.assert(
      fc.property(fc.array(recordArbitrary, { minLength: 1, maxLength: 30 }), (records) => {
        const request = produceOf(frameOf(records, 3));
        const split = splitIntoBatches(request.frameRecords!, () => 3, 0);
        expect(split.slots).toBeNull();
        expect(split.batches).toHaveLength(1);
        expect(split.batches[0]!.partition).toBe(3);
        expect(split.batches[0]!.recordCount).toBe(records.length);
        expect(hex(split.batches[0]!.batch)).toBe(hex(buildRecordBatch(records)));
      }),
      { numRuns: 200 },
    );
  });

  it('spreads records over partitions, each batch holding its records in request order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(recordArbitrary, fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 40 }),
        (pairs) => {
          const records = pairs.map(([record]) => record);
          let call = 0;
          const split = splitIntoBatches(
            produceOf(frameOf(records, -1)).frameRecords!,
            () => pairs[call++]![1],
            0,
          );
          const slots = split.slots === null ? pairs.map(() => 0) : [...split.slots];
          for (const [index, part] of split.batches.entries()) {
            const expected = pairs.filter((_, i) => slots[i] === index);
            expect(expected.every(([, partition]) => partition === part.partition)).toBe(true);
            const decoded = decodeBatchRecords(part.batch);
            expect(decoded.map((r) => [r.offset, r.timestampMs, r.key, r.value])).toEqual(
              expected.map(([r], i) => [i, r.timestampMs, r.key, r.value]),
            );
          }
          expect(new Set(pairs.map(([, p]) => p)).size).toBe(split.batches.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stamps records sent with timestamp -1 with the broker clock', () => {
    const frame = frameOf([{ key: null, value: Uint8Array.of(1) }]);
    const split = splitIntoBatches(produceOf(frame).frameRecords!, () => 0, 1_700_000_000_000);
    expect(decodeBatchRecords(split.batches[0]!.batch)[0]!.timestampMs).toBe(1_700_000_000_000);
  });

  it('PRODUCED maps any assignment of records to partitions back to each record offset', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 60 }), (partitions) => {
        const distinct = [...new Set(partitions)];
        const groups = distinct.map((partition) => ({
          partition,
          baseOffset: partition * 1000,
          recordCount: partitions.filter((p) => p === partition).length,
        }));
        const slots = distinct.length > 1 ? Int32Array.from(partitions, (p) => distinct.indexOf(p)) : null;
        const offsets = readProduced(new FrameReader(encodeProduced(1, groups, slots), 1));
        const seen = new Map<number, number>();
        expect(offsets).toEqual(
          partitions.map((partition) => {
            const n = seen.get(partition) ?? 0;
            seen.set(partition, n + 1);
            return { partition, offset: partition * 1000 + n };
          }),
        );
      }),
    );
  });

  it('carries a ready RecordBatch as it is', () => {
    const batch = buildRecordBatch([{ key: null, value: Uint8Array.of(9) }]);
    const request = produceOf(encodeProduceBatch(4, 't', 2, -1, batch).slice());
    expect(request.batch?.partition).toBe(2);
    expect(hex(request.batch!.bytes)).toBe(hex(batch));
    expect(request.acks).toBe(-1);
  });
});

describe('other frames round trip', () => {
  it('SUBSCRIBE, SUBSCRIBED and UNSUBSCRIBE', () => {
    expect(decodeBinaryRequest(encodeSubscribe(5, 'orders', [2, 0], 17))).toEqual({
      op: 'subscribe',
      id: 5,
      topic: 'orders',
      partitions: [2, 0],
      from: 17,
      encoding: 'utf8',
      isolationLevel: 0,
    });
    expect(decodeBinaryRequest(encodeSubscribe(5, 'orders', [2], 'earliest', 1))).toMatchObject({
      isolationLevel: 1,
    });
    expect(decodeBinaryRequest(encodeSubscribe(6, 'orders', null, 'earliest'))).toMatchObject({
      partitions: null,
      from: 'earliest',
    });
    expect(decodeBinaryRequest(encodeSubscribe(7, 'orders', [1], 'latest'))).toMatchObject({
      from: 'latest',
    });
    const subscribed = encodeSubscribed(5, [
      { partition: 2, offset: 17 },
      { partition: 0, offset: 3 },
    ]);
    expect(readSubscribed(new FrameReader(subscribed, 5))).toEqual({
      subscription: 5,
      starts: [
        { partition: 2, offset: 17 },
        { partition: 0, offset: 3 },
      ],
    });
    expect(decodeBinaryRequest(encodeUnsubscribe(8, 5))).toEqual({
      op: 'unsubscribe',
      id: 8,
      subscription: 5,
    });
  });

  it('COMMIT, OFFSET and the OFFSET reply', () => {
    expect(decodeBinaryRequest(encodeCommit(1, 'reports', 't', 3, 42))).toEqual({
      op: 'commit',
      id: 1,
      consumer: 'reports',
      topic: 't',
      partition: 3,
      offset: 42,
    });
    expect(decodeBinaryRequest(encodeOffsetRequest(2, 'reports', 't', 3))).toEqual({
      op: 'offset',
      id: 2,
      consumer: 'reports',
      topic: 't',
      partition: 3,
    });
    expect(readOffsetReply(new FrameReader(encodeOffsetReply(2, -1), 2))).toBe(-1);
  });

  it('ARROW', () => {
    expect(decodeBinaryRequest(encodeArrowRequest(3, 't', 0, 10, 4096, 50, true))).toEqual({
      op: 'arrow',
      id: 3,
      topic: 't',
      partition: 0,
      offset: 10,
      maxBytes: 4096,
      limit: 50,
      valuesAsJson: true,
    });
  });

  it('FETCHED and RECORDS heads precede the stored batches and name the offset after them', () => {
    const first = new Uint8Array(
      buildRecordBatch([
        { key: null, value: null },
        { key: null, value: null },
      ]),
    );
    const second = new Uint8Array(buildRecordBatch([{ key: null, value: null }], { baseOffset: 2 }));
    const batches = new Uint8Array([...first, ...second]);
    expect(nextOffsetAfter(batches, 0)).toBe(3);
    expect(nextOffsetAfter(batches.subarray(0, batches.length - 5), 0)).toBe(2);
    expect(nextOffsetAfter(new Uint8Array(0), 7)).toBe(7);
    const head = recordsHead(WsOpCode.RECORDS, 12, 1, 3, 3).slice();
    const frame = new Uint8Array([...head, ...batches]);
    const read = readRecordsFrame(new FrameReader(frame, 12));
    expect(read).toMatchObject({ partition: 1, highWatermark: 3, nextOffset: 3 });
    expect(hex(read.batches)).toBe(hex(batches));
  });
});

describe('refusals', () => {
  const refused: [string, Uint8Array][] = [
    ['a frame shorter than its header', Uint8Array.of(1, 2, 0)],
    ['another protocol version', Uint8Array.of(2, 2, 0, 0, 0, 0, 0, 1)],
    ['an unknown op', Uint8Array.of(1, 0x7e, 0, 0, 0, 0, 0, 1)],
    ['a reply op sent as a request', Uint8Array.of(1, 0x81, 0, 0, 0, 0, 0, 1)],
    ['bytes after the last field', new Uint8Array([...encodeUnsubscribe(1, 2), 0])],
    [
      'a negative partition',
      new FrameWriter(WsOpCode.FETCH, 1).str('t').i32(-1).f64(0).u32(1).u32(0).finish(),
    ],
    [
      'a fractional offset',
      new FrameWriter(WsOpCode.FETCH, 1).str('t').i32(0).f64(1.5).u32(1).u32(0).finish(),
    ],
    [
      'a NaN offset',
      new FrameWriter(WsOpCode.FETCH, 1).str('t').i32(0).f64(Number.NaN).u32(1).u32(0).finish(),
    ],
    ['an empty topic', new FrameWriter(WsOpCode.FETCH, 1).str('').i32(0).f64(0).u32(1).u32(0).finish()],
    [
      'a topic that is not UTF-8',
      new FrameWriter(WsOpCode.OFFSET, 1).u16(1).u8(0xff).str('t').i32(0).finish(),
    ],
    [
      'a partition named twice',
      new FrameWriter(WsOpCode.SUBSCRIBE, 1).str('t').i16(2).i32(1).i32(1).u8(1).f64(0).finish(),
    ],
    ['no partitions', new FrameWriter(WsOpCode.SUBSCRIBE, 1).str('t').i16(0).u8(1).f64(0).finish()],
    ['an unknown "from"', new FrameWriter(WsOpCode.SUBSCRIBE, 1).str('t').i16(-1).u8(3).f64(0).finish()],
    ['acks 2', new FrameWriter(WsOpCode.PRODUCE, 1).str('t').i32(0).i8(2).u8(0).u32(0).finish()],
    ['zero records', new FrameWriter(WsOpCode.PRODUCE, 1).str('t').i32(0).i8(1).u8(0).u32(0).finish()],
    [
      'a ready batch without a partition',
      new FrameWriter(WsOpCode.PRODUCE, 1).str('t').i32(-1).i8(1).u8(1).finish(),
    ],
    [
      'a record that runs past the frame',
      new FrameWriter(WsOpCode.PRODUCE, 1).str('t').i32(0).i8(1).u8(0).u32(1).i32(50).finish(),
    ],
    [
      'a timestamp of -5',
      new FrameWriter(WsOpCode.PRODUCE, 1)
        .str('t')
        .i32(0)
        .i8(1)
        .u8(0)
        .u32(1)
        .i32(-1)
        .i32(-1)
        .f64(-5)
        .u16(0)
        .finish(),
    ],
    ['an arrow limit of 0', encodeArrowRequest(1, 't', 0, 0, 1, 0, false)],
  ];
  for (const [what, frame] of refused) {
    it(`refuses ${what} with a FrameError`, () => {
      expect(() => decodeBinaryRequest(frame)).toThrow(FrameError);
    });
  }

  it('keeps the request id in the error when the header was readable', () => {
    try {
      decodeBinaryRequest(Uint8Array.of(1, 0x7e, 0, 0, 0, 0, 0, 42));
      expect.unreachable();
    } catch (error) {
      expect((error as FrameError).id).toBe(42);
    }
  });
});
