import { describe, expect, it } from 'vitest';
import { metadata } from '../../src/protocol/kafka/metadata.js';
import { KafkaReader, MalformedRequestError } from '../../src/protocol/kafka/primitives.js';
import { type KafkaFixture, startKafkaFixture } from '../support/kafka-fixture.js';
import { copyInto, isFlexible, mutate, seeds } from '../support/kafka-fuzz-seeds.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { xorshift } from '../support/xorshift.js';

/**
 * Mutation fuzzing of the Kafka request decoders (a million frames) and of
 * the listener itself (through a real socket): a damaged request is either
 * decoded or refused with MalformedRequestError, never anything else, and the
 * broker keeps answering good requests afterwards. fuzz-sharded.test.ts runs
 * the same mutations through the real sharded engine and its rings.
 */
describe('Kafka request fuzzing', () => {
  it('decodes or refuses 1,000,000 mutated requests with MalformedRequestError only', () => {
    const random = xorshift(0xc0ffee);
    let refused = 0;
    const heapBeforeBytes = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) {
      const seed = seeds[i % seeds.length]!;
      const mutated = mutate(seed.bytes, random);
      try {
        seed.api.decode(new KafkaReader(mutated), seed.version);
      } catch (error) {
        if (!(error instanceof MalformedRequestError)) {
          throw new Error(
            `${seed.api.name} v${seed.version} threw ${String(error)} on [${[...mutated].join(',')}]`,
          );
        }
        refused++;
      }
    }
    // Most mutations break something; some land in values (offsets, names) and decode fine.
    expect(refused).toBeGreaterThan(100_000);
    // Lying lengths never make the decoder allocate what they claim: the heap stays flat.
    expect(process.memoryUsage().heapUsed - heapBeforeBytes).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);

  it('keeps the listener answering after 10,000 mutated frames over real sockets', async () => {
    const fixture: KafkaFixture = await startKafkaFixture({ maxRequestBytes: 64 * 1024 });
    try {
      await fixture.engine.createTopic('t', 1);
      const random = xorshift(42);
      let wire = await KafkaWire.open(fixture.listener.port);
      for (let i = 0; i < 10_000; i++) {
        if (wire.closed) wire = await KafkaWire.open(fixture.listener.port);
        const seed = seeds[i % seeds.length]!;
        if (random() < 0.1) {
          // The whole frame mutated, size prefix and request header included: framing lies too.
          wire.send(
            mutate(
              KafkaWire.frame(seed.api.apiKey, seed.version, i, (w) =>
                copyInto(w, seed.bytes, isFlexible(seed)),
              ),
              random,
            ),
          );
          continue;
        }
        wire.request(seed.api.apiKey, random() < 0.9 ? seed.version : Math.floor(random() * 20) - 2, i, (w) =>
          copyInto(w, mutate(seed.bytes, random), isFlexible(seed)),
        );
        if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      wire.close();
      const healthy = await KafkaWire.open(fixture.listener.port);
      healthy.request(metadata.apiKey, 1, 99, (w) => w.int32(-1));
      expect((await healthy.next())?.correlationId).toBe(99);
      healthy.close();
    } finally {
      await fixture.close();
    }
  }, 60_000);
});
