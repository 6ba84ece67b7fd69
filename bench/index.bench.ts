import { bench, do_not_optimize } from 'mitata';
import { OffsetIndex } from '../src/storage/offset-index.js';
import { runWithRatios } from './support/mitata-ratios.js';

/**
 * `npm run bench -- index`: a sparse offset-index lookup (binary search over
 * a 256 MiB segment's 65,536 entries) beside its baseline, a linear scan of
 * the same entries, which is what finding a batch without the index costs at
 * best (reading every entry's header in memory).
 */
export async function run(): Promise<void> {
  const entries = 65_536;
  const index = new OffsetIndex();
  const relativeOffsets = new Uint32Array(entries);
  for (let i = 0; i < entries; i++) {
    index.add(i * 16, i * 4096);
    relativeOffsets[i] = i * 16;
  }
  let probe = 0;
  bench('linear scan of 65,536 entries', () => {
    probe = (probe + 7919) % (entries * 16);
    const target = probe;
    let found = 0;
    for (let i = 0; i < entries && relativeOffsets[i]! <= target; i++) found = i;
    return do_not_optimize(found);
  });
  bench('OffsetIndex.positionFor (binary search)', () => {
    probe = (probe + 7919) % (entries * 16);
    return do_not_optimize(index.positionFor(probe));
  });
  await runWithRatios([
    {
      name: 'linear scan of 65,536 entries',
      baseline: 'linear scan of 65,536 entries',
      bytesPerOp: entries * 4,
      itemsPerOp: 1,
    },
    {
      name: 'OffsetIndex.positionFor (binary search)',
      baseline: 'linear scan of 65,536 entries',
      bytesPerOp: entries * 4,
      itemsPerOp: 1,
    },
  ]);
}
