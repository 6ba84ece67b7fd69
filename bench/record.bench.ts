import { bench, do_not_optimize } from 'mitata';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { checkBatch } from '../src/record/batch-check.js';
import { decodeBatchRecords } from '../src/record/batch-reader.js';
import { crc32c, crc32cImplementation, crc32cNodeRs } from '../src/record/crc32c.js';
import type { ProducedRecord } from '../src/record/record.js';
import { validateProducedBatch } from '../src/record/validate.js';
import { type Cursor, readVarint, writeVarint } from '../src/record/varint.js';
import { runWithRatios } from './support/mitata-ratios.js';

/**
 * `npm run bench -- record`: the RecordBatch v2 codec, CRC32C and varints,
 * each beside a memcpy of the same bytes measured in the same run.
 * A 16 KiB batch of 1 KiB records is what the storage and engine suites use.
 */
export async function run(): Promise<void> {
  const records: ProducedRecord[] = Array.from({ length: 16 }, (_, i) => ({
    key: new TextEncoder().encode(`key-${i}`),
    value: new Uint8Array(1000).fill(i),
  }));
  const batch = buildRecordBatch(records);
  const view = new DataView(batch.buffer);
  const copyTarget = new Uint8Array(batch.length);
  const varints = new Uint8Array(10 * 1000);
  const cursor: Cursor = { position: 0 };
  const values = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 100_000);

  bench('memcpy 16 KiB', () => copyTarget.set(batch));
  const crcName = `crc32c 16 KiB (${crc32cImplementation})`;
  const fallbackCrcName = 'crc32c 16 KiB (@node-rs/crc32, the fallback)';
  bench(crcName, () => do_not_optimize(crc32c(batch)));
  bench(fallbackCrcName, () => do_not_optimize(crc32cNodeRs(batch)));
  bench('checkBatch 16 KiB (length, magic, CRC)', () =>
    do_not_optimize(checkBatch(batch, view, 0, batch.length)),
  );
  bench('validateProducedBatch 16 KiB (walks 16 records)', () => validateProducedBatch(batch, 1 << 20));
  // The same walk with a CreateTime window to check each record's timestamp against (what the shard does).
  const nowMs = Date.now();
  bench('validateProducedBatch 16 KiB + timestamp window', () =>
    validateProducedBatch(batch, 1 << 20, nowMs - 3_600_000, nowMs + 3_600_000),
  );
  bench('buildRecordBatch 16 x 1 KiB', () => do_not_optimize(buildRecordBatch(records)));
  bench('decodeBatchRecords 16 x 1 KiB', () => do_not_optimize(decodeBatchRecords(batch)));
  bench('memcpy 10 KB', () => copyTarget.set(varints.subarray(0, 10_000)));
  bench('writeVarint x1000 + readVarint x1000', () => {
    let position = 0;
    for (const value of values) position = writeVarint(varints, position, value);
    cursor.position = 0;
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += readVarint(varints, cursor, position);
    return do_not_optimize(sum);
  });

  const size = batch.length;
  await runWithRatios([
    { name: 'memcpy 16 KiB', baseline: 'memcpy 16 KiB', bytesPerOp: size },
    { name: crcName, baseline: 'memcpy 16 KiB', bytesPerOp: size },
    { name: fallbackCrcName, baseline: 'memcpy 16 KiB', bytesPerOp: size },
    {
      name: 'checkBatch 16 KiB (length, magic, CRC)',
      baseline: 'memcpy 16 KiB',
      bytesPerOp: size,
      itemsPerOp: 1,
    },
    {
      name: 'validateProducedBatch 16 KiB (walks 16 records)',
      baseline: 'memcpy 16 KiB',
      bytesPerOp: size,
      itemsPerOp: 16,
    },
    {
      name: 'validateProducedBatch 16 KiB + timestamp window',
      baseline: 'validateProducedBatch 16 KiB (walks 16 records)',
      bytesPerOp: size,
      itemsPerOp: 16,
    },
    { name: 'buildRecordBatch 16 x 1 KiB', baseline: 'memcpy 16 KiB', bytesPerOp: size, itemsPerOp: 16 },
    { name: 'decodeBatchRecords 16 x 1 KiB', baseline: 'memcpy 16 KiB', bytesPerOp: size, itemsPerOp: 16 },
    {
      name: 'writeVarint x1000 + readVarint x1000',
      baseline: 'memcpy 10 KB',
      bytesPerOp: 10_000,
      itemsPerOp: 2000,
    },
  ]);
}
