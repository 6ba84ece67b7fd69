import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KafkaWriter } from '../../src/protocol/kafka/primitives.js';
import { KafkaConnection } from '../../src/server/kafka-connection.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { MemoryEngine } from '../support/memory-engine.js';

/**
 * A socket that records what the connection writes, in which cork/uncork
 * group: enough to see how many syscalls the responses would take.
 */
class RecordingSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
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
  write(chunk: Uint8Array): boolean {
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
