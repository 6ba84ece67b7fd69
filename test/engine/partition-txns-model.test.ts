import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { PartitionTxns } from '../../src/engine/partition-txns.js';
import { persistSegmentTxns, rebuildTxnState } from '../../src/engine/txn-state-rebuild.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { buildControlBatch } from '../../src/record/control-batch.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The partition side of transactions against a model: random plain and
 * transactional appends, COMMIT and ABORT markers, clean restarts and
 * crashes (files closed without the clean marker, as a SIGKILL leaves them),
 * on a real partition log with tiny segments so that rolls, `.txnindex`
 * files and rescans all happen. After every step the last stable offset, the
 * open transactions and the aborted-transaction index must be the model's,
 * and a range query of the index must return what a brute-force filter does.
 */
type Step =
  | { kind: 'plain' }
  | { kind: 'txn'; producerId: number }
  | { kind: 'marker'; producerId: number; commit: boolean }
  | { kind: 'restart'; clean: boolean }
  | { kind: 'query'; from: number; span: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Step>({ kind: 'plain' }) },
  {
    weight: 5,
    arbitrary: fc.integer({ min: 1, max: 4 }).map((producerId): Step => ({ kind: 'txn', producerId })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ producerId: fc.integer({ min: 1, max: 4 }), commit: fc.boolean() })
      .map((marker): Step => ({ kind: 'marker', ...marker })),
  },
  { weight: 1, arbitrary: fc.boolean().map((clean): Step => ({ kind: 'restart', clean })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ from: fc.integer({ min: 0, max: 80 }), span: fc.integer({ min: 1, max: 40 }) })
      .map((query): Step => ({ kind: 'query', ...query })),
  },
);

interface Model {
  open: Map<number, number>;
  aborted: { producerId: number; firstOffset: number; lastOffset: number }[];
  logEnd: number;
}

class Harness {
  log!: PartitionLog;
  txns!: PartitionTxns;
  private sequence = 0;

  constructor(private readonly dir: string) {
    this.open();
  }

  open(): void {
    this.log = PartitionLog.open({
      dir: this.dir,
      config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 400 },
      fsync: 'never',
    });
    this.txns = new PartitionTxns();
    this.log.onRoll = (base, end) => persistSegmentTxns(this.txns, this.dir, base, end);
    rebuildTxnState(this.txns, this.log);
  }

  append(producerId: number, transactional: boolean): number {
    const batch = buildRecordBatch([{ key: null, value: new Uint8Array(20).fill(this.sequence & 0xff) }], {
      producerId,
      producerEpoch: producerId < 0 ? -1 : 0,
      baseSequence: producerId < 0 ? -1 : this.sequence,
      transactional,
    });
    this.sequence++;
    const offset = this.log.append(batch, Date.now()).baseOffset;
    if (transactional) this.txns.onTransactionalAppend(producerId, offset);
    return offset;
  }

  marker(producerId: number, commit: boolean): number {
    const batch = buildControlBatch(
      { producerId, producerEpoch: 0, commit, coordinatorEpoch: 7 },
      Date.now(),
    );
    const offset = this.log.append(batch, Date.now()).baseOffset;
    this.txns.onMarker(producerId, 0, commit, offset);
    return offset;
  }

  async restart(clean: boolean): Promise<void> {
    if (clean) {
      // As the shard's clean close: the active segment's index, then the final sync and the marker.
      const range = this.log.segmentRanges().at(-1)!;
      const openAtStart = this.txns.openAtActiveStart;
      persistSegmentTxns(this.txns, this.dir, range.baseOffset, this.log.logEndOffset);
      this.txns.openAtActiveStart = openAtStart;
      await this.log.close();
    } else {
      await this.log.abandon();
    }
    this.open();
  }

  allAborted(): { producerId: number; firstOffset: number }[] {
    const out: { producerId: number; firstOffset: number }[] = [];
    this.txns.collectAborted(0, Number.POSITIVE_INFINITY, (producerId, firstOffset) =>
      out.push({ producerId, firstOffset }),
    );
    return out;
  }
}

describe('partition transactions against a model', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('given random transactional and plain appends, markers and restarts, LSO and aborted index match the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 60 }), async (steps) => {
        const { dir, cleanup } = makeTempDir('txn-model');
        cleanups.push(cleanup);
        const harness = new Harness(dir);
        const model: Model = { open: new Map(), aborted: [], logEnd: 0 };
        try {
          for (const step of steps) {
            switch (step.kind) {
              case 'plain':
                harness.append(-1, false);
                model.logEnd++;
                break;
              case 'txn': {
                const offset = harness.append(step.producerId, true);
                expect(offset).toBe(model.logEnd);
                if (!model.open.has(step.producerId)) model.open.set(step.producerId, offset);
                model.logEnd++;
                break;
              }
              case 'marker': {
                const offset = harness.marker(step.producerId, step.commit);
                const first = model.open.get(step.producerId) ?? offset;
                model.open.delete(step.producerId);
                if (!step.commit) {
                  model.aborted.push({ producerId: step.producerId, firstOffset: first, lastOffset: offset });
                }
                model.logEnd++;
                break;
              }
              case 'restart':
                await harness.restart(step.clean);
                break;
              case 'query': {
                // Every range of the log so far, plus the one drawn: an aborted transaction's data may start
                // before a range and its marker lie after it.
                const ranges: [number, number][] = [[step.from, step.from + step.span]];
                for (let from = 0; from <= model.logEnd; from++) {
                  for (let to = from + 1; to <= model.logEnd + 1; to++) ranges.push([from, to]);
                }
                for (const [from, to] of ranges) {
                  const got: number[][] = [];
                  harness.txns.collectAborted(from, to, (producerId, firstOffset) =>
                    got.push([producerId, firstOffset]),
                  );
                  const expected = model.aborted
                    .filter((entry) => entry.lastOffset >= from && entry.firstOffset < to)
                    .map((entry) => [entry.producerId, entry.firstOffset]);
                  expect(got).toEqual(expected);
                }
                break;
              }
            }
            const firstOpen = Math.min(...model.open.values());
            expect(harness.log.logEndOffset).toBe(model.logEnd);
            expect(harness.txns.lastStableOffset(harness.log.highWatermark)).toBe(
              Math.min(firstOpen, model.logEnd),
            );
            expect([...harness.txns.open]).toEqual([...model.open]);
            expect(harness.allAborted()).toEqual(
              model.aborted.map(({ producerId, firstOffset }) => ({ producerId, firstOffset })),
            );
          }
        } finally {
          await harness.log.abandon();
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
