import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/common/broker-config.js';
import type { FetchOutcome, FetchRequest } from '../../src/engine/engine-api.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import type { KafkaWriter } from '../../src/protocol/kafka/primitives.js';
import { type KafkaFixture, startKafkaFixture } from '../support/kafka-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { MemoryEngine } from '../support/memory-engine.js';

/**
 * The Kafka listener's per-connection limits (in-flight requests, idle
 * timeout) and its connection limit, over real sockets on 127.0.0.1.
 */

/** A MemoryEngine that counts how many fetches are in progress at once. */
class CountingEngine extends MemoryEngine {
  inFlight = 0;
  inFlightMax = 0;

  override async fetch(request: FetchRequest): Promise<FetchOutcome> {
    this.inFlight++;
    this.inFlightMax = Math.max(this.inFlightMax, this.inFlight);
    try {
      return await super.fetch(request);
    } finally {
      this.inFlight--;
    }
  }
}

/** Fetch v4 of `events`/0 from offset 0, held up to `maxWaitMs` because nothing is there yet. */
function longPoll(maxWaitMs: number) {
  return (w: KafkaWriter) => {
    w.int32(-1).int32(maxWaitMs).int32(1).int32(1_048_576).int8(0);
    w.int32(1).string('events').int32(1).int32(0).int64(0).int32(1_048_576);
  };
}

describe('Kafka listener limits', () => {
  let fixture: KafkaFixture | null = null;
  const wires: KafkaWire[] = [];

  async function start(overrides: Partial<BrokerConfig>, engine = new MemoryEngine()): Promise<KafkaFixture> {
    fixture = await startKafkaFixture(overrides, engine);
    return fixture;
  }

  async function open(port: number): Promise<KafkaWire> {
    const wire = await KafkaWire.open(port);
    wires.push(wire);
    return wire;
  }

  afterEach(async () => {
    for (const wire of wires.splice(0)) wire.close();
    await fixture?.close();
    fixture = null;
  });

  it('given an in-flight limit of 2 when 6 long polls are pipelined then at most 2 run at once and all are answered in order', async () => {
    const engine = new CountingEngine();
    const { listener } = await start({ maxInFlightRequestsPerConnection: 2 }, engine);
    await engine.createTopic('events', 1);
    const wire = await open(listener.port);
    const frames = [1, 2, 3, 4, 5, 6].map((id) => KafkaWire.frame(ApiKey.FETCH, 4, id, longPoll(60)));
    // One write, so every frame is already in the broker's receive buffer when it pauses.
    wire.send(Buffer.concat(frames));
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push((await wire.next(5000))?.correlationId ?? -1);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6]);
    expect(engine.inFlightMax).toBeLessThanOrEqual(2);
  });

  it('answers 3,000 pipelined requests with intact responses while the connection reuses its writer', async () => {
    const { listener, engine, config } = await start({});
    await engine.createTopic('events', 3);
    const wire = await open(listener.port);
    const count = 3000;
    const frames: Uint8Array[] = [];
    for (let id = 0; id < count; id++) {
      frames.push(KafkaWire.frame(ApiKey.METADATA, 1, id, (w) => w.int32(1).string('events')));
    }
    wire.send(Buffer.concat(frames));
    for (let id = 0; id < count; id++) {
      const response = await wire.next(5000);
      expect(response?.correlationId).toBe(id);
      const reader = response!.reader;
      const brokers = reader.array((r) => ({
        node: r.int32(),
        host: r.string(),
        port: r.int32(),
        rack: r.nullableString(),
      }));
      expect(brokers).toEqual([{ node: config.nodeId, host: '127.0.0.1', port: listener.port, rack: null }]);
      reader.int32(); // controller_id
      const topics = reader.array((r) => {
        const errorCode = r.int16();
        const name = r.string();
        r.boolean();
        const partitions = r.array((p) => {
          p.int16();
          const index = p.int32();
          p.int32();
          p.array((x) => x.int32());
          p.array((x) => x.int32());
          return index;
        });
        return { errorCode, name, partitions };
      });
      expect(topics).toEqual([{ errorCode: 0, name: 'events', partitions: [0, 1, 2] }]);
      expect(reader.remaining()).toBe(0);
    }
  });

  it('closes a connection that stays silent past idleTimeoutMs and keeps serving a new one', async () => {
    const { listener } = await start({ idleTimeoutMs: 300 });
    const idle = await open(listener.port);
    expect(await idle.closedWithin(3000)).toBe(true);
    const fresh = await open(listener.port);
    fresh.request(ApiKey.API_VERSIONS, 0, 9, () => undefined);
    expect((await fresh.next(2000))?.correlationId).toBe(9);
  });

  it('given maxConnections 2 when a third client connects then it is closed, and a slot frees when one leaves', async () => {
    const { listener } = await start({ maxConnections: 2 });
    const first = await open(listener.port);
    const second = await open(listener.port);
    // Make sure both are accepted before the third arrives.
    first.request(ApiKey.API_VERSIONS, 0, 1, () => undefined);
    second.request(ApiKey.API_VERSIONS, 0, 2, () => undefined);
    expect((await first.next(2000))?.correlationId).toBe(1);
    expect((await second.next(2000))?.correlationId).toBe(2);

    const third = await open(listener.port);
    expect(await third.closedWithin(2000)).toBe(true);

    first.close();
    let fourthAnswered = false;
    // The server learns of the close asynchronously: retry briefly until the slot is free.
    for (let attempt = 0; attempt < 50 && !fourthAnswered; attempt++) {
      const fourth = await open(listener.port);
      fourth.request(ApiKey.API_VERSIONS, 0, 4, () => undefined);
      const response = await fourth.next(1000).catch(() => null);
      fourthAnswered = response?.correlationId === 4;
      if (!fourthAnswered) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(fourthAnswered).toBe(true);
  });
});
