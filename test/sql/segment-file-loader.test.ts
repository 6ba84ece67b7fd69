import { copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import type { SegmentFileExtent } from '../../src/engine/engine-api.js';
import type { ShardedEngine } from '../../src/engine/sharded-engine.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { SegmentFileLoader } from '../../src/sql/segment-file-loader.js';
import { SqlError } from '../../src/sql/sql-errors.js';
import { offsetAfterBatches } from '../../src/sql/topic-rows.js';
import { startTestEngine } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

const encoder = new TextEncoder();
const RECORDS_PER_BATCH = 50;

/** A topic whose one partition holds `batches` batches of 50 records (~2.5 KiB each) in 16 KiB segments. */
async function filledTopic(engine: ShardedEngine, topic: string, batches: number): Promise<void> {
  expect(await engine.createTopic(topic, 1, { segmentBytes: 16 * 1024 })).toBe(KafkaErrorCode.NONE);
  for (let b = 0; b < batches; b++) {
    const batch = buildRecordBatch(
      Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
        key: null,
        value: encoder.encode(JSON.stringify({ n: b * RECORDS_PER_BATCH + i, pad: 'x'.repeat(20) })),
      })),
    );
    // acks=all: answered once under the high watermark, so every record is readable at once.
    expect((await engine.produce(topic, 0, batch, -1)).errorCode).toBe(KafkaErrorCode.NONE);
  }
}

async function extentsOf(
  engine: ShardedEngine,
  from: number,
  end: number,
  topic = 'events',
): Promise<SegmentFileExtent[]> {
  const outcome = await engine.segmentExtents(topic, 0, from, end);
  expect(outcome.errorCode).toBe(KafkaErrorCode.NONE);
  expect(outcome.extents).not.toBeNull();
  return outcome.extents!;
}

/** Reads a whole extent; answers the offsets of the records handed on and the windows' sizes. */
function readAll(
  loader: SegmentFileLoader,
  extent: SegmentFileExtent,
  fromOffset: number,
  endOffset: number,
): { windows: number[]; nextOffset: number; done: boolean; bytes: number; stale: boolean } {
  const windows: number[] = [];
  let nextOffset = fromOffset;
  const result = loader.read(
    { extent, position: extent.startPosition, fromOffset, endOffset, bytesMax: Number.POSITIVE_INFINITY },
    (records) => {
      windows.push(records.length);
      nextOffset = offsetAfterBatches(records, nextOffset);
    },
  );
  return { windows, nextOffset, done: result.done, bytes: result.bytes, stale: result.stale };
}

/** SQL's reader of segment files outside the shard: what it reads, what it refuses, when it steps aside. */
describe('segment file loader', () => {
  // One engine for the file: 'events' (40 batches, several segments; the tests that damage, swap or remove a
  // segment each take another one) and 'small' (4 batches).
  const temp = makeTempDir('segment-files');
  let engine: ShardedEngine;
  beforeAll(async () => {
    engine = await startTestEngine(temp.dir);
    await filledTopic(engine, 'events', 40);
    await filledTopic(engine, 'small', 4);
  }, 120_000);
  afterAll(async () => {
    await engine?.stop();
    temp.cleanup();
  });

  it('given a partition in several segments should read every batch of each, in windows of whole batches', async () => {
    const extents = await extentsOf(engine, 0, 40 * RECORDS_PER_BATCH);
    expect(extents.length).toBeGreaterThan(3);
    const loader = new SegmentFileLoader(4 * 1024);
    let offset = 0;
    let windows = 0;
    for (const extent of extents) {
      expect(extent.baseOffset).toBe(offset);
      const read = readAll(loader, extent, offset, 40 * RECORDS_PER_BATCH);
      expect(read).toMatchObject({ stale: false, done: true, nextOffset: extent.nextOffset });
      expect(read.bytes).toBe(extent.endPosition - extent.startPosition);
      windows += read.windows.length;
      offset = extent.nextOffset;
    }
    expect(windows).toBeGreaterThan(extents.length);
    expect(offset).toBe(40 * RECORDS_PER_BATCH);
  });

  it('given an offset range should start near it through the index and end after the batch holding its last offset', async () => {
    // A segment of at least three batches; ask for offsets inside its first two.
    const whole = (await extentsOf(engine, 0, 2000)).find((e) => e.nextOffset - e.baseOffset >= 150)!;
    const from = whole.baseOffset + 10;
    const [extent] = await extentsOf(engine, from, from + 50);
    expect(extent!.baseOffset).toBe(whole.baseOffset);
    const read = readAll(new SegmentFileLoader(), extent!, from, from + 50);
    expect(read.done).toBe(true);
    // Whole batches: the one holding from + 49 ends at base + 100; nothing past it is read.
    expect(read.nextOffset).toBe(whole.baseOffset + 100);
    // The shard ends the extent there too: the segment's later batches are not part of it.
    expect(extent!.endPosition).toBeLessThan(whole.endPosition);
    expect(read.bytes).toBe(extent!.endPosition - extent!.startPosition);
  });

  it('given a batch larger than the window should grow the window and read it whole', async () => {
    const [extent] = await extentsOf(engine, 0, 200, 'small');
    const read = readAll(new SegmentFileLoader(256), extent!, 0, 200);
    expect(read).toMatchObject({ stale: false, done: true, nextOffset: 200 });
    expect(read.windows).toHaveLength(4);
  });

  it('given the segment swapped by a rename (as the log cleaner does) should read nothing and say stale', async () => {
    const extent = (await extentsOf(engine, 0, 2000))[0];
    copyFileSync(extent!.path, `${extent!.path}.copy`);
    renameSync(`${extent!.path}.copy`, extent!.path);
    const read = readAll(new SegmentFileLoader(), extent!, extent!.baseOffset, 2000);
    expect(read).toMatchObject({ stale: true, bytes: 0, windows: [] });
  });

  it('given the segment removed (retention) should say stale', async () => {
    const extent = (await extentsOf(engine, 0, 2000))[1];
    rmSync(extent!.path);
    expect(readAll(new SegmentFileLoader(), extent!, extent!.baseOffset, 2000).stale).toBe(true);
  });

  it('given a damaged batch the broker never verified should refuse it; one it verified is trusted as the shard trusts it', async () => {
    const extent = (await extentsOf(engine, 0, 2000))[2];
    // Everything was appended by this broker: known good, no check needed.
    expect(extent!.verifiedBytes).toBe(extent!.endPosition);
    const unverified = { ...extent!, verifiedBytes: 0 };
    // Good bytes pass the check.
    expect(readAll(new SegmentFileLoader(), unverified, extent!.baseOffset, 2000).done).toBe(true);
    const bytes = readFileSync(extent!.path);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
    writeFileSync(extent!.path, bytes);
    let failure: unknown = null;
    try {
      readAll(new SegmentFileLoader(), unverified, extent!.baseOffset, 2000);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(SqlError);
    expect((failure as SqlError).code).toBe('SQL_FAILED');
    expect((failure as SqlError).message).toMatch(/CRC32C/);
    // The shard reports the bytes it appended as verified: as its own reads, the loader does not check them again.
    expect(readAll(new SegmentFileLoader(), extent!, extent!.baseOffset, 2000).done).toBe(true);
  });
});
