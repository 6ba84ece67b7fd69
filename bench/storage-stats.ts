/**
 * Summaries for the storage benchmark. Baseline and log are measured in
 * short slices run back to back, alternating which goes first; each slice
 * pair gives one ratio. On a shared two-core machine the disk and the CPU
 * drift from one moment to the next, and a pair run back to back sees nearly
 * the same conditions, so the median of the paired ratios is a steadier and
 * fairer figure than either side's best.
 */
export interface Sides {
  /** MB/s of each baseline slice. */
  raw: number[];
  /** MB/s of each log slice, paired by index with `raw`. */
  log: number[];
}

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The 10th and 90th percentiles, as a "low–high" cell. */
export function spread(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (fraction: number): number => sorted[Math.round(fraction * (sorted.length - 1))]!;
  return `${at(0.1).toFixed(2)}–${at(0.9).toFixed(2)}`;
}

/** A table row: median MB/s of each side, then the median and spread of the paired ratios. */
export function pairedRow(measure: string, sides: Sides, target: string, digits: number): string[] {
  const ratios = sides.raw.map((baseline, i) => sides.log[i]! / baseline);
  return [
    measure,
    median(sides.raw).toFixed(digits),
    median(sides.log).toFixed(digits),
    median(ratios).toFixed(2),
    spread(ratios),
    String(ratios.length),
    target,
  ];
}

export const TABLE_HEADER = [
  'measure',
  'baseline MB/s',
  'pyralog MB/s',
  'ratio (median)',
  'p10–p90',
  'pairs',
  'target',
];
