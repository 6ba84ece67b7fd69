import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Offset } from '../../src/common/offset.js';
import { KafkaWriter } from '../../src/protocol/kafka/primitives.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { KafkaConnection } from '../../src/server/kafka-connection.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { MemoryEngine } from '../support/memory-engine.js';

/**
 * A socket that records what the connection writes, in which cork/uncork
 * group: enough to see how many syscalls the responses would take.
 */
class RecordingSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  /** Everything written is taken at once, as a socket whose peer keeps reading. */
  readonly writableLength = 0;
  readonly groups: Buffer[][] = [];
  private corked: Buffer[] | null = null;
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  destroy(): this {
    return this;
  }
  cork(): void {
    this.corked = [];
  }
  uncork(): void {
    if (this.corked !== null) this.groups.push(this.corked);
    this.corked = null;
  }
  write(chunk: Uint8Array, written?: () => void): boolean {
    if (written !== undefined) queueMicrotask(written);
    const copy = Buffer.from(chunk);
    if (this.corked !== null) this.corked.push(copy);
    else this.groups.push([copy]);
    return true;
  }
}

function apiVersionsFrame(correlationId: number): Uint8Array {
  const writer = new KafkaWriter();
  writer.beginFrame().int16(18).int16(0).int32(correlationId).nullableString('t');
  const chunks = writer.finishFrame();
  return Buffer.concat(chunks);
}

function produceFrame(correlationId: number, batch: Uint8Array): Uint8Array {
  const writer = new KafkaWriter();
  writer.beginFrame().int16(0).int16(7).int32(correlationId).nullableString('t');
  writer.nullableString(null).int16(1).int32(30_000).int32(1).string('events');
  writer.int32(1).int32(0).bytesField(batch);
  return Buffer.concat(writer.finishFrame());
}

/** Whole size-prefixed frames in `written`. */
function responseCount(written: Buffer): number {
  let count = 0;
  for (let at = 0; at + 4 <= written.length && at + 4 + written.readInt32BE(at) <= written.length; count++) {
    at += 4 + written.readInt32BE(at);
  }
  return count;
}

async function settle(until: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !until(); i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('Kafka connection reads', () => {
  it('given pipelined frames cut into chunks anywhere, hands every batch over whole and in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 30 }),
        async (valueSizes, chunkSizes) => {
          const engine = new MemoryEngine();
          await engine.createTopic('events', 1);
          const socket = new RecordingSocket();
          new KafkaConnection(socket as unknown as Socket, await testFrontDoorDeps(engine), {
            warn: () => undefined,
          });
          const values = valueSizes.map((size, i) => new Uint8Array(size).fill(i + 1));
          const stream = Buffer.concat(
            values.map((value, i) => produceFrame(i + 1, buildRecordBatch([{ key: null, value }]))),
          );
          for (let at = 0, i = 0; at < stream.length; i++) {
            const size = chunkSizes[i % chunkSizes.length]!;
            socket.emit('data', stream.subarray(at, at + size));
            at += size;
          }
          await settle(() => responseCount(Buffer.concat(socket.groups.flat())) === values.length);
          const stored = (
            await engine.fetch({
              partitions: [{ topic: 'events', partition: 0, offset: 0 as Offset, maxBytes: 1 << 20 }],
              maxWaitMs: 0,
              minBytes: 0,
              maxBytes: 1 << 20,
            })
          ).partitions[0]!;
          expect(decodeRecordSet(stored.records).map((record) => record.value)).toEqual(values);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('Kafka connection writes', () => {
  it('given pipelined requests that finish together, answers them in one corked write, in order', async () => {
    const socket = new RecordingSocket();
    const deps = await testFrontDoorDeps(new MemoryEngine());
    new KafkaConnection(socket as unknown as Socket, deps, { warn: () => undefined });
    socket.emit('data', Buffer.concat([1, 2, 3].map(apiVersionsFrame)));
    for (let i = 0; i < 10 && socket.groups.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(socket.groups).toHaveLength(1);
    const written = Buffer.concat(socket.groups[0]!);
    const correlationIds: number[] = [];
    for (let at = 0; at < written.length; at += 4 + written.readInt32BE(at)) {
      correlationIds.push(written.readInt32BE(at + 4));
    }
    expect(correlationIds).toEqual([1, 2, 3]);
  });
});
