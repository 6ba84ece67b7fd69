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
  /**
   * When the figure was measured in alternating rounds (baseline, then the
   * system, again and again in one run): every round's figures. Then
   * `baseline` and `value` are the medians over the rounds, and `ratio` is
   * the median of the rounds' own ratios, so one burst from a neighbour on a
   * shared machine moves one round, not the row.
   */
  rounds?: RoundFigures[];
}

export interface RoundFigures {
  baseline: number;
  value: number;
  ratio: number;
}

/** A row from its figures: the ratio and whether it meets `target` (`>= x` or `<= x`) are derived. */
export function suiteRow(name: string, unit: string, baseline: number, value: number, target = ''): SuiteRow {
  const ratio = baseline === 0 ? Number.NaN : value / baseline;
  return { name, unit, baseline, value, ratio, target, met: meetsTarget(ratio, target) };
}

/** Whether `ratio` meets `target` (`>= x` or `<= x`); null when there is no target or no ratio. */
export function meetsTarget(ratio: number, target: string): boolean | null {
  const bound = /^(>=|<=)\s*([\d.]+)$/.exec(target.trim());
  if (bound === null || Number.isNaN(ratio)) return null;
  return bound[1] === '>=' ? ratio >= Number(bound[2]) : ratio <= Number(bound[2]);
}

/**
 * A row from alternating rounds, each with its baseline and value from the
 * same stretch of time: the row's ratio is the median of the rounds' ratios
 * (see SuiteRow.rounds), its baseline and value the medians of theirs.
 */
export function roundsRow(
  name: string,
  unit: string,
  rounds: readonly { baseline: number; value: number }[],
  target = '',
): SuiteRow {
  const figures = rounds.map(({ baseline, value }) => ({
    baseline,
    value,
    ratio: baseline === 0 ? Number.NaN : value / baseline,
  }));
  const ratio = median(figures.map((round) => round.ratio));
  return {
    name,
    unit,
    baseline: median(figures.map((round) => round.baseline)),
    value: median(figures.map((round) => round.value)),
    ratio,
    target,
    met: meetsTarget(ratio, target),
    rounds: figures,
  };
}

/** The median (the mean of the middle two for an even count); NaN when empty or when any value is NaN. */
export function median(values: readonly number[]): number {
  if (values.length === 0 || values.some((value) => Number.isNaN(value))) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
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
