import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One figure of a suite beside its baseline from the same run, as a script
 * checking the targets reads it from `bench/out/<suite>.json`.
 *
 * `ratio` is value / baseline. `target` states the bound on the ratio as
 * text (`>= 0.9`, `<= 2`), or is empty for figures without one; `met` says
 * whether the ratio meets it (null without a target).
 */
export interface SuiteRow {
  name: string;
  /** The unit of `baseline` and `value` (`MB/s`, `µs`, `µs CPU/request`). */
  unit: string;
  baseline: number;
  value: number;
  ratio: number;
  target: string;
  met: boolean | null;
}

/** A row from its figures: the ratio and whether it meets `target` (`>= x` or `<= x`) are derived. */
export function suiteRow(name: string, unit: string, baseline: number, value: number, target = ''): SuiteRow {
  const ratio = baseline === 0 ? Number.NaN : value / baseline;
  const bound = /^(>=|<=)\s*([\d.]+)$/.exec(target.trim());
  const met =
    bound === null || Number.isNaN(ratio)
      ? null
      : bound[1] === '>='
        ? ratio >= Number(bound[2])
        : ratio <= Number(bound[2]);
  return { name, unit, baseline, value, ratio, target, met };
}

/** Writes `bench/out/<suite>.json`: the run's date, notes (such as whether the generator had a core) and rows. */
export function writeSuiteResults(
  suite: string,
  rows: readonly SuiteRow[],
  notes: Record<string, string | number | boolean> = {},
): string {
  const dir = join(process.cwd(), 'bench', 'out');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${suite}.json`);
  writeFileSync(file, `${JSON.stringify({ suite, date: new Date().toISOString(), notes, rows }, null, 2)}\n`);
  return file;
}
