import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import {
  produce,
  produceRequestDescription,
  produceResponseDescription,
} from '../../src/protocol/kafka/produce.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { scopedTestEngines } from '../support/engine-fixture.js';
import { startKafkaFixture } from '../support/kafka-fixture.js';
import { KafkaWire } from '../support/kafka-wire.js';

/**
 * KIP-467 through the real shards: a batch refused because of one record is
 * answered, from Produce v8, with the validator's message and that record's
 * index in record_errors; the whole batch is refused and nothing is stored.
 */
const engines = scopedTestEngines('record-errors');
type Fields = Record<string, unknown>;

describe('Produce v8+ record errors', () => {
  it('names the record whose timestamp is outside the topic window, and stores nothing', async () => {
    const engine = await engines.start();
    const fixture = await startKafkaFixture({}, engine);
    try {
      await engine.createTopic('stamped', 1, { timestampAfterMaxMs: 60_000 });
      const nowMs = Date.now();
      const batch = buildRecordBatch([
        { key: null, value: Uint8Array.of(1), timestampMs: nowMs },
        { key: null, value: Uint8Array.of(2), timestampMs: nowMs + 24 * 3600 * 1000 },
      ]);
      const requestCodec = messageCodec<Fields>(produceRequestDescription);
      const responseCodec = messageCodec<Fields>(produceResponseDescription);
      const wire = await KafkaWire.open(fixture.listener.port);
      for (const [version, correlationId] of [
        [9, 1],
        [7, 2],
      ] as const) {
        wire.request(produce.apiKey, version, correlationId, (w) => {
          if (version >= produce.firstFlexibleVersion) w.uvarint(0);
          requestCodec.encode(
            w,
            {
              acks: -1,
              timeoutMs: 5000,
              topics: [{ name: 'stamped', partitions: [{ index: 0, records: batch }] }],
            },
            version,
          );
        });
        const answer = (await wire.next())!;
        if (version >= produce.firstFlexibleVersion) answer.reader.taggedFields(null);
        const decoded = responseCodec.decode(answer.reader, version);
        const partition = ((decoded.topics as Fields[])[0]!.partitions as Fields[])[0]!;
        expect(partition.errorCode).toBe(KafkaErrorCode.INVALID_TIMESTAMP);
        if (version >= 8) {
          expect(partition.recordErrors).toEqual([
            { batchIndex: 1, batchIndexErrorMessage: expect.stringMatching(/^record 1 has timestamp/) },
          ]);
          expect(partition.errorMessage).toMatch(/^record 1 has timestamp/);
        }
      }
      wire.close();
      expect((await engine.listOffsets('stamped', 0, -1)).offset).toBe(0);
    } finally {
      await fixture.close();
    }
  });
});
