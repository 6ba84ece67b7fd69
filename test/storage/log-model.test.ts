import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../src/common/broker-config.js';
import type { PyralogError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { readInt64 } from '../../src/common/offset.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The partition log against a simple model (an array of batches): random
 * sequences of append (written at once, or buffered until writeBuffered or
 * until a read, roll, sync or close writes them), read, roll (small segments
 * and a moving clock), retention and close-and-reopen must answer exactly as
 * the model does.
 */
type Command =
  | { kind: 'append'; records: number; valueBytes: number; buffered: boolean }
  | { kind: 'writeBuffered' }
  | { kind: 'read'; offsetPick: number; maxBytes: number }
  | { kind: 'advanceClock'; ms: number }
  | { kind: 'retention' }
  | { kind: 'reopen' }
  | { kind: 'timestamp'; pick: number };

interface ModelBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Uint8Array;
  timestampMs: number;
}

interface ModelSegment {
  batches: ModelBatch[];
  sizeBytes: number;
  createdMs: number;
}

/** The segments' batches in order. */
function allBatches(segments: readonly ModelSegment[]): ModelBatch[] {
  return segments.flatMap((segment) => segment.batches);
}

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      records: fc.integer({ min: 1, max: 5 }),
      valueBytes: fc.integer({ min: 0, max: 900 }),
      buffered: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'writeBuffered' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      offsetPick: fc.double({ min: 0, max: 1, noNaN: true }),
      maxBytes: fc.integer({ min: 1, max: 6000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('advanceClock' as const),
      ms: fc.integer({ min: 1, max: 5000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'retention' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('timestamp' as const),
      pick: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
);

const config: TopicConfig = {
  ...DEFAULT_TOPIC_CONFIG,
  segmentBytes: 4096,
  segmentMs: 3000,
  retentionBytes: 12_000,
  retentionMs: 20_000,
};

describe('partition log against an in-memory model', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('answers every append, read, roll, retention, timestamp lookup and reopen as the model does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 60 }), async (commands) => {
        const { dir, cleanup } = makeTempDir('log-model');
        cleanups.push(cleanup);
        let clockMs = 1_000_000;
        const open = (): PartitionLog =>
          PartitionLog.open({ dir, config, fsync: 'never', nowMs: () => clockMs });
        let log = open();
        const segments: ModelSegment[] = [{ batches: [], sizeBytes: 0, createdMs: -1 }];
        let nextOffset = 0;
        let sequence = 0;
        for (const command of commands) {
          switch (command.kind) {
            case 'append': {
              const records = Array.from({ length: command.records }, () => ({
                key: null,
                value: new Uint8Array(command.valueBytes).fill(sequence++ & 0xff),
                timestampMs: clockMs,
              }));
              const batch = buildRecordBatch(records);
              const result = command.buffered
                ? log.appendBuffered(batch, clockMs)
                : log.append(batch, clockMs);
              expect(result.baseOffset).toBe(nextOffset);
              expect(result.lastOffset).toBe(nextOffset + command.records - 1);
              let active = segments[segments.length - 1]!;
              const tooOld = active.createdMs >= 0 && clockMs - active.createdMs >= config.segmentMs;
              if (active.sizeBytes > 0 && (active.sizeBytes + batch.length > config.segmentBytes || tooOld)) {
                active = { batches: [], sizeBytes: 0, createdMs: -1 };
                segments.push(active);
              }
              if (active.createdMs < 0) active.createdMs = clockMs;
              active.batches.push({
                baseOffset: nextOffset,
                lastOffset: result.lastOffset,
                bytes: batch.slice(),
                timestampMs: clockMs,
              });
              active.sizeBytes += batch.length;
              nextOffset += command.records;
              break;
            }
            case 'read': {
              const start = allBatches(segments)[0]?.baseOffset ?? nextOffset;
              const offset = Math.min(
                nextOffset,
                start + Math.floor(command.offsetPick * (nextOffset - start + 1)),
              );
              const got = log.read(offset, command.maxBytes).slice();
              const segment = segments.find((s) => s.batches.some((b) => b.lastOffset >= offset));
              expect(got).toEqual(expectedRead(segment?.batches ?? [], offset, command.maxBytes));
              break;
            }
            case 'writeBuffered':
              log.writeBuffered();
              break;
            case 'advanceClock':
              clockMs += command.ms;
              break;
            case 'retention': {
              // Retention leaves a segment whose background sync (started at its roll) has not finished to
              // its next pass; the model has no such passes, so let those syncs finish first. Only those:
              // under `never` nothing else syncs, and a flush here once hid that retention never deleted.
              await log.rolledSegmentsSynced();
              log.enforceRetention(clockMs);
              let total = segments.reduce((sum, s) => sum + s.sizeBytes, 0);
              while (segments.length > 1) {
                const oldest = segments[0]!;
                const maxTimestampMs = Math.max(...oldest.batches.map((b) => b.timestampMs));
                const expired = maxTimestampMs < clockMs - config.retentionMs;
                const oversize = total - oldest.sizeBytes >= config.retentionBytes;
                if (!expired && !oversize) break;
                segments.shift();
                total -= oldest.sizeBytes;
              }
              expect(log.sizeBytes()).toBe(total);
              expect(log.segmentCount()).toBe(segments.length);
              break;
            }
            case 'reopen':
              await log.close();
              log = open();
              expect(log.recoveryProblems).toEqual([]);
              if (segments[segments.length - 1]!.sizeBytes > 0)
                segments[segments.length - 1]!.createdMs = clockMs;
              break;
            case 'timestamp': {
              const batches = allBatches(segments);
              if (batches.length === 0) break;
              const target =
                batches[Math.min(batches.length - 1, Math.floor(command.pick * batches.length))]!.timestampMs;
              const expected = batches.find((b) => b.timestampMs >= target)!;
              expect(log.offsetForTimestamp(target)).toEqual({
                offset: expected.baseOffset,
                timestampMs: expected.timestampMs,
              });
              expect(log.offsetForTimestamp(clockMs + 1)).toBeNull();
              break;
            }
          }
          expect(log.logEndOffset).toBe(nextOffset);
          expect(log.logStartOffset).toBe(segments[0]!.batches[0]?.baseOffset ?? nextOffset);
        }
        const outOfRange = (() => {
          try {
            log.read(nextOffset + 1, 100);
          } catch (error) {
            return error;
          }
          return null;
        })();
        expect((outOfRange as PyralogError).kafkaCode).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
        await log.close();
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});

/** What a read must return: whole batches from the one holding `offset`, up to maxBytes, at least one, within one segment. */
function expectedRead(model: readonly ModelBatch[], offset: number, maxBytes: number): Uint8Array {
  const first = model.findIndex((b) => b.lastOffset >= offset);
  if (first < 0) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = first; i < model.length; i++) {
    const bytes = model[i]!.bytes;
    if (parts.length > 0 && total + bytes.length > maxBytes) break;
    parts.push(bytes);
    total += bytes.length;
  }
  return withOffsets(parts, model.slice(first, first + parts.length));
}

function withOffsets(parts: readonly Uint8Array[], batches: readonly ModelBatch[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  parts.forEach((part, i) => {
    out.set(part, at);
    const view = new DataView(out.buffer, at);
    view.setBigInt64(BatchHeader.BASE_OFFSET, BigInt(batches[i]!.baseOffset));
    view.setInt32(BatchHeader.PARTITION_LEADER_EPOCH, 0);
    expect(readInt64(view, 0)).toBe(batches[i]!.baseOffset);
    at += part.length;
  });
  return out;
}
