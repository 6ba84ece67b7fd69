import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { Offset } from '../../src/common/offset.js';
import { OFFSETS_TOPIC, OffsetStore } from '../../src/groups/offset-store.js';
import { decodeRecordSet } from '../../src/record/batch-reader.js';
import { scopedTestEngines } from '../support/engine-fixture.js';

/**
 * `__consumer_offsets` on a real engine is compacted: many commits of the same
 * (group, topic, partition) shrink to the last one, a deleted group's
 * tombstones go, and a store read back from the compacted log knows exactly
 * what the one that wrote it knew.
 */
describe('the compacted offsets topic', () => {
  const engines = scopedTestEngines('offsets-compaction');

  it('given many commits and a deleted group, when the cleaner has run, then a reload finds the latest commit of each key and nothing of the deleted group', async () => {
    const engine = await engines.start({}, 50);
    const store = await OffsetStore.open(engine, 1);
    // Small segments and an eager cleaner, so the test sees compaction in seconds.
    expect(
      await engine.alterTopicConfig(OFFSETS_TOPIC, {
        segmentBytes: 1024,
        minCleanableDirtyRatio: 0.01,
        deleteRetentionMs: 0,
      }),
    ).toBe(KafkaErrorCode.NONE);
    const entry = (topic: string, partition: number, offset: number) => ({
      key: { groupId: '', topic, partition },
      value: { offset, commitTimeMs: 1, metadata: null },
    });
    for (let round = 0; round < 60; round++) {
      for (const groupId of ['kept', 'deleted']) {
        const entries = [0, 1, 2].map((partition) => {
          const e = entry('orders', partition, round * 10 + partition);
          return { ...e, key: { ...e.key, groupId } };
        });
        expect(await store.commit(groupId, entries, Date.now())).toBe(KafkaErrorCode.NONE);
      }
    }
    expect(await store.deleteGroup('deleted', Date.now())).toBe(KafkaErrorCode.NONE);
    // More commits of another group, so the ones above lie in closed, cleanable segments.
    for (let round = 0; round < 30; round++) {
      await store.commit(
        'filler',
        [{ ...entry('f', round, round), key: { groupId: 'filler', topic: 'f', partition: round } }],
        Date.now(),
      );
    }
    const end = await engine.listOffsets(OFFSETS_TOPIC, 0, -1);
    const deadline = Date.now() + 25_000;
    let now = -1;
    while (Date.now() < deadline) {
      now = await recordCount(engine);
      if (now <= 3 + 30) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // 360 commits, 3 tombstones and 30 filler commits were written; the latest 3 and the filler are left.
    expect(end.offset).toBe(360 + 3 + 30);
    expect(now).toBe(3 + 30);

    const reloaded = await OffsetStore.open(engine, 1);
    for (const partition of [0, 1, 2]) {
      expect(reloaded.get('kept', 'orders', partition)?.offset).toBe(590 + partition);
    }
    expect(reloaded.hasGroup('deleted')).toBe(false);
    expect(reloaded.groups().sort()).toEqual(['filler', 'kept']);
  });
});

/** Records the offsets partition serves now, read through its gaps. */
async function recordCount(engine: Awaited<ReturnType<ReturnType<typeof scopedTestEngines>['start']>>) {
  let count = 0;
  let offset = 0;
  for (let i = 0; i < 1000; i++) {
    const fetched = await engine.fetch({
      partitions: [{ topic: OFFSETS_TOPIC, partition: 0, offset: offset as Offset, maxBytes: 1 << 20 }],
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
    });
    const records = fetched.partitions[0]!.records;
    if (records.length === 0) break;
    const decoded = decodeRecordSet(records).filter((record) => record.offset >= offset);
    count += decoded.length;
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    let at = 0;
    let next = offset;
    while (at + 61 <= records.length) {
      next = Number(view.getBigInt64(at)) + view.getInt32(at + 23) + 1;
      at += view.getInt32(at + 8) + 12;
    }
    if (next <= offset) break;
    offset = next;
  }
  return count;
}
