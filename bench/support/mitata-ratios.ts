import { run } from 'mitata';

/**
 * Runs the mitata benchmarks registered so far and prints each one's
 * throughput as a ratio to its baseline from the same run. `bytesPerOp`
 * turns the per-operation time into bandwidth; `baselineOf` names the
 * benchmark each is compared to (the baseline itself shows 1.00).
 */
export interface RatioSpec {
  name: string;
  baseline: string;
  bytesPerOp: number;
  /** Items (records, varints, …) per operation, for an items/s column. */
  itemsPerOp?: number;
}

interface MitataRun {
  name: string;
  stats?: { avg: number };
}

interface MitataResult {
  benchmarks: { runs: MitataRun[] }[];
}

export async function runWithRatios(specs: readonly RatioSpec[]): Promise<Map<string, number>> {
  const result = (await run({ format: 'quiet' })) as unknown as MitataResult;
  const avgNs = new Map<string, number>();
  for (const benchmark of result.benchmarks) {
    for (const trial of benchmark.runs) if (trial.stats) avgNs.set(trial.name, trial.stats.avg);
  }
  const rows: string[][] = [['benchmark', 'time/op', 'MB/s', 'items/s', 'baseline', 'ratio']];
  const ratios = new Map<string, number>();
  for (const spec of specs) {
    const ns = avgNs.get(spec.name);
    const baseNs = avgNs.get(spec.baseline);
    if (ns === undefined || baseNs === undefined) continue;
    const ratio = baseNs / ns;
    ratios.set(spec.name, ratio);
    rows.push([
      spec.name,
      formatNs(ns),
      ((spec.bytesPerOp / ns) * 1000).toFixed(0),
      spec.itemsPerOp === undefined ? '' : formatRate((spec.itemsPerOp / ns) * 1e9),
      spec.baseline,
      ratio.toFixed(2),
    ]);
  }
  printTable(rows);
  return ratios;
}

function formatNs(ns: number): string {
  if (ns < 1000) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

export function printTable(rows: readonly string[][]): void {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
}
