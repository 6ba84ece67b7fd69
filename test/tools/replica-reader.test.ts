import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchAttributes, BatchHeader } from '../../src/record/batch-header.js';
import { crc32c } from '../../src/record/crc32c.js';
import { partitionDir } from '../../src/storage/partition-dirs.js';
import { segmentFileName } from '../../src/storage/segment-files.js';
import { readReplicaFromDataDir } from '../../tools/chaos/replica-reader.js';

const encoder = new TextEncoder();
const batchOf = (baseOffset: number, values: readonly string[]): Uint8Array =>
  buildRecordBatch(
    values.map((value) => ({ key: null, value: encoder.encode(value) })),
    { baseOffset },
  );

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Marks a batch as a control batch (a transaction marker) and fixes its CRC. */
function asControl(batch: Uint8Array): Uint8Array {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setInt16(BatchHeader.ATTRIBUTES, view.getInt16(BatchHeader.ATTRIBUTES) | BatchAttributes.CONTROL);
  view.setUint32(BatchHeader.CRC, crc32c(batch, BatchHeader.CRC_START, batch.length));
  return batch;
}

describe('readReplicaFromDataDir', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'pyralog-replica-'));
    dirs.push(dir);
    return dir;
  }

  it('given segments with a control batch and a torn tail, should read every data record in offset order', () => {
    const dir = dataDir();
    const partition = partitionDir(dir, 7, 'orders', 0);
    mkdirSync(partition, { recursive: true });
    const torn = batchOf(5, ['torn']).subarray(0, 40);
    writeFileSync(
      join(partition, segmentFileName(0, '.log')),
      concat(batchOf(0, ['a', 'b']), asControl(batchOf(2, ['m']))),
    );
    writeFileSync(join(partition, segmentFileName(3, '.log')), concat(batchOf(3, ['c', 'd']), torn));
    writeFileSync(join(partition, segmentFileName(0, '.index')), new Uint8Array(8));
    expect(readReplicaFromDataDir(dir, 2, 'orders', 0)).toEqual({
      broker: 2,
      topic: 'orders',
      partition: 0,
      records: [
        { offset: 0, value: 'a' },
        { offset: 1, value: 'b' },
        { offset: 3, value: 'c' },
        { offset: 4, value: 'd' },
      ],
    });
  });

  it('given a batch whose CRC fails, should stop before it', () => {
    const dir = dataDir();
    const partition = partitionDir(dir, 1, 't', 0);
    mkdirSync(partition, { recursive: true });
    const damaged = batchOf(1, ['x']);
    damaged[damaged.length - 1] ^= 0xff;
    writeFileSync(
      join(partition, segmentFileName(0, '.log')),
      concat(batchOf(0, ['ok']), damaged, batchOf(2, ['after'])),
    );
    expect(readReplicaFromDataDir(dir, 1, 't', 0)?.records).toEqual([{ offset: 0, value: 'ok' }]);
  });

  it('given a topic recreated under the same name, should read the newest one; given none, null', () => {
    const dir = dataDir();
    for (const [topicId, value] of [
      [3, 'old'],
      [9, 'new'],
    ] as const) {
      const partition = partitionDir(dir, topicId, 't', 0);
      mkdirSync(partition, { recursive: true });
      writeFileSync(join(partition, segmentFileName(0, '.log')), batchOf(0, [value]));
    }
    expect(readReplicaFromDataDir(dir, 1, 't', 0)?.records).toEqual([{ offset: 0, value: 'new' }]);
    expect(readReplicaFromDataDir(dir, 1, 'missing', 0)).toBeNull();
    expect(readReplicaFromDataDir(dir, 1, 't', 5)).toBeNull();
  });
});
