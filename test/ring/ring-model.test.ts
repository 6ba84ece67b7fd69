import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRingBuffer,
  createRingBufferNearIndexWrap,
  RingReader,
  type RingRecord,
  RingWriter,
} from '../../src/ring/index.js';

/**
 * The ring on one thread against a queue model: whatever sequence of
 * claims, publishes, reads and releases, the consumer sees exactly the
 * published records, in order, with their bytes intact, and a claim fails
 * only when the ring really has no room.
 */
type Command =
  | { kind: 'claim'; payloadBytes: number; seed: number }
  | { kind: 'publish' }
  | { kind: 'read'; count: number }
  | { kind: 'release' };

const DATA_BYTES = 4096;

function newRecord(): RingRecord {
  return { type: 0, flags: 0, correlationId: 0, payloadPosition: 0, payloadBytes: 0 };
}

function commandArb(maxPayloadBytes: number): fc.Arbitrary<Command> {
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('claim' as const),
        payloadBytes: fc.oneof(
          fc.integer({ min: 0, max: 64 }),
          fc.integer({ min: 0, max: maxPayloadBytes }),
          fc.constantFrom(0, maxPayloadBytes),
        ),
        seed: fc.nat(255),
      }),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'publish' as const }) },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('read' as const), count: fc.integer({ min: 1, max: 8 }) }),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'release' as const }) },
  );
}

interface ModelRecord {
  id: number;
  payloadBytes: number;
  seed: number;
}

function runAgainstModel(buffer: SharedArrayBuffer, commands: readonly Command[]): void {
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  const record = newRecord();
  const unpublished: ModelRecord[] = [];
  const published: ModelRecord[] = [];
  let nextId = 0;
  for (const command of commands) {
    switch (command.kind) {
      case 'claim': {
        const id = nextId;
        const position = writer.tryClaim(command.payloadBytes, id & 0xffff, command.seed, id);
        if (position < 0) {
          // Refused: then the ring must be too full for this record even counting what is released.
          expect(writer.hasSpaceFor(command.payloadBytes)).toBe(false);
          break;
        }
        nextId++;
        writer.bytes.fill(command.seed, position, position + command.payloadBytes);
        unpublished.push({ id, payloadBytes: command.payloadBytes, seed: command.seed });
        break;
      }
      case 'publish':
        writer.publish();
        published.push(...unpublished.splice(0));
        break;
      case 'read':
        for (let i = 0; i < command.count; i++) {
          const expected = published.shift();
          const got = reader.tryRead(record);
          expect(got).toBe(expected !== undefined);
          if (expected === undefined) break;
          expect(record.correlationId).toBe(expected.id);
          expect(record.type).toBe(expected.id & 0xffff);
          expect(record.flags).toBe(expected.seed);
          expect(record.payloadBytes).toBe(expected.payloadBytes);
          const payload = reader.bytes.subarray(
            record.payloadPosition,
            record.payloadPosition + record.payloadBytes,
          );
          expect(payload.every((byte) => byte === expected.seed)).toBe(true);
        }
        break;
      case 'release':
        reader.release();
        break;
    }
  }
  // Drain: everything published and not yet read arrives, then nothing more.
  writer.publish();
  published.push(...unpublished.splice(0));
  for (const expected of published) {
    expect(reader.tryRead(record)).toBe(true);
    expect(record.correlationId).toBe(expected.id);
  }
  expect(reader.tryRead(record)).toBe(false);
  reader.release();
  expect(reader.usedBytes()).toBe(0);
  expect(writer.freeBytes()).toBe(DATA_BYTES);
}

describe('ring against a queue model (one thread)', () => {
  const maxPayloadBytes = new RingWriter(createRingBuffer(DATA_BYTES)).maxPayloadBytes;

  it('delivers exactly the published records, in order, intact, across many wrap-arounds', () => {
    fc.assert(
      fc.property(fc.array(commandArb(maxPayloadBytes), { minLength: 1, maxLength: 400 }), (commands) =>
        runAgainstModel(createRingBuffer(DATA_BYTES), commands),
      ),
      { numRuns: 300 },
    );
  });

  it('does the same when its byte indices wrap past 2^32', () => {
    fc.assert(
      fc.property(fc.array(commandArb(maxPayloadBytes), { minLength: 1, maxLength: 400 }), (commands) =>
        runAgainstModel(createRingBufferNearIndexWrap(DATA_BYTES), commands),
      ),
      { numRuns: 100 },
    );
  });

  it('always has room for a maximum-size record once drained, wherever the indices stand', () => {
    const buffer = createRingBuffer(DATA_BYTES);
    const writer = new RingWriter(buffer);
    const reader = new RingReader(buffer);
    const record = newRecord();
    for (let offset = 0; offset < DATA_BYTES * 3; offset += 40) {
      expect(writer.tryClaim(32, 1, 0, 0)).toBeGreaterThanOrEqual(0);
      writer.publish();
      expect(writer.tryClaim(maxPayloadBytes, 2, 0, 0)).toBeGreaterThanOrEqual(0);
      writer.publish();
      while (reader.tryRead(record));
      reader.release();
    }
  });

  it('rejects a payload larger than maxPayloadBytes or negative with a RangeError', () => {
    const writer = new RingWriter(createRingBuffer(DATA_BYTES));
    expect(() => writer.tryClaim(maxPayloadBytes + 1, 0, 0, 0)).toThrow(RangeError);
    expect(() => writer.tryClaim(-1, 0, 0, 0)).toThrow(RangeError);
  });

  it('rejects a buffer that is not a ring, and a size that is not a power of two', () => {
    expect(() => createRingBuffer(5000)).toThrow(RangeError);
    expect(() => new RingReader(new SharedArrayBuffer(1024))).toThrow(RangeError);
  });

  it('keeps records invisible until published', () => {
    const buffer = createRingBuffer(DATA_BYTES);
    const writer = new RingWriter(buffer);
    const reader = new RingReader(buffer);
    writer.tryClaim(8, 1, 0, 7);
    expect(reader.tryRead(newRecord())).toBe(false);
    writer.publish();
    expect(reader.tryRead(newRecord())).toBe(true);
  });
});

describe('doorbell', () => {
  it('does not notify when the consumer is not sleeping', () => {
    const buffer = createRingBuffer(DATA_BYTES);
    const writer = new RingWriter(buffer);
    for (let i = 0; i < 100; i++) {
      writer.tryClaim(8, 0, 0, i);
      writer.publish();
      new RingReader(buffer).release();
    }
    expect(writer.notifyCount()).toBe(0);
  });

  it('wakes a consumer waiting with waitAsync, with one notify', async () => {
    const buffer = createRingBuffer(DATA_BYTES);
    const writer = new RingWriter(buffer);
    const reader = new RingReader(buffer);
    const startedMs = performance.now();
    const waiting = reader.waitAsync(5000);
    writer.tryClaim(8, 0, 0, 1);
    writer.publish();
    await waiting;
    expect(performance.now() - startedMs).toBeLessThan(1000);
    expect(writer.notifyCount()).toBe(1);
    expect(reader.tryRead(newRecord())).toBe(true);
  });

  it('returns from waitAsync after its timeout when nothing is published', async () => {
    const reader = new RingReader(createRingBuffer(DATA_BYTES));
    const startedMs = performance.now();
    await reader.waitAsync(50);
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(45);
    expect(reader.hasData()).toBe(false);
  });

  it('ends a waitAsync without a timeout when interrupted, with nothing to read', async () => {
    const reader = new RingReader(createRingBuffer(DATA_BYTES));
    let woke = false;
    const waiting = reader.waitAsync(Number.POSITIVE_INFINITY).then(() => {
      woke = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(woke).toBe(false);
    reader.interrupt();
    await waiting;
    expect(woke).toBe(true);
    expect(reader.hasData()).toBe(false);
  });

  it('wakes a producer waiting for space when the consumer releases', async () => {
    const buffer = createRingBuffer(DATA_BYTES);
    const writer = new RingWriter(buffer);
    const reader = new RingReader(buffer);
    while (writer.tryClaim(500, 0, 0, 0) >= 0);
    writer.publish();
    const waiting = writer.waitForSpace(500, 5000);
    const record = newRecord();
    while (reader.tryRead(record));
    reader.release();
    await waiting;
    expect(writer.tryClaim(500, 0, 0, 0)).toBeGreaterThanOrEqual(0);
  });
});
