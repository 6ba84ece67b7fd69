import { meetsTarget, type SuiteRow } from '../../bench/support/suite-results.js';

/**
 * Issue 18's nine targets, checked against the rows the suites write to
 * bench/out/<suite>.json (`npm run bench -- kafka`, `npm run bench -- ws`,
 * `npm run bench:peers`). A target is met in a run when every row it covers
 * that has a bound is met; it has no verdict when the run holds none of its
 * rows, and some targets are behaviours that tests check, not figures.
 */
export interface SuiteFile {
  suite: string;
  date: string;
  notes?: Record<string, string | number | boolean>;
  rows: SuiteRow[];
}

/** One run: the suite files found together (one directory). */
export interface RunResults {
  label: string;
  suites: ReadonlyMap<string, SuiteFile>;
}

export type SuiteName = 'kafka' | 'ws' | 'peers';

interface TargetSpec {
  id: number;
  title: string;
  /** The suites and rows this target covers (rows without a bound are shown, never counted). */
  rows: readonly { suite: SuiteName; name: RegExp }[];
  /** Rows a complete run holds for it (peers: 8 comparisons); fewer is "incomplete", not met. */
  expectedRows?: number;
  /** What benches do not cover: checked by tests, said beside the verdict. */
  behaviour?: string;
}

export const TARGETS: readonly TargetSpec[] = [
  {
    id: 1,
    title: 'CPU per request: acceptor <= 2x, each shard <= 1.5x a raw Node TCP echo',
    rows: [{ suite: 'kafka', name: /^CPU per request: pyralog (acceptor|shard \d+) vs/ }],
  },
  {
    id: 2,
    title: 'steady latency at 5k req/s: p99 <= 2x, p99.9 <= 3x raw loopback TCP',
    rows: [{ suite: 'kafka', name: /^steady p99(\.9)? vs raw loopback TCP/ }],
  },
  {
    id: 3,
    title: 'warm start: first 6 s p99 <= 3x steady p99 (fresh and restarted broker)',
    rows: [{ suite: 'kafka', name: /(^first \d+ s p99|restart).* vs /i }],
  },
  {
    id: 4,
    title:
      'Kafka throughput: acks=1 >= 0.9 of raw TCP into a file; acks=-1 >= 0.6 / 0.85 of write + fdatasync',
    rows: [
      { suite: 'kafka', name: /^acks=1, fsync never, .* vs raw TCP into a file$/ },
      { suite: 'kafka', name: /^acks=-1, fsync always, .* vs raw write \+ fdatasync/ },
    ],
  },
  {
    id: 5,
    title: 'end to end over Kafka: produce -> consume p99 at 5k/s <= 3x raw loopback TCP p99',
    rows: [{ suite: 'kafka', name: /^end-to-end p99 \(produce -> consume\) vs raw loopback TCP p99$/ }],
  },
  {
    id: 6,
    title: 'WebSocket: ingest >= 0.7 of a raw uWS echo; e2e p99 <= Kafka e2e p99',
    rows: [
      { suite: 'ws', name: /ingest.* vs a raw uWS echo$/ },
      { suite: 'ws', name: /^WebSocket end-to-end p99 vs Kafka end-to-end p99$/ },
    ],
    behaviour: 'requests past the in-flight limit wait in a byte-bounded queue (tests)',
  },
  {
    id: 7,
    title: 'peers: p99 and p99.9 at or below each peer in all 8 comparisons',
    rows: [{ suite: 'peers', name: /^p99(\.9)? at / }],
    expectedRows: 16,
  },
  {
    id: 8,
    title: 'HTTP maxBytes and limit clamped, not refused',
    rows: [],
    behaviour: 'a behaviour: checked by tests, not by a bench',
  },
  {
    id: 9,
    title: 'idle cost: <= 0.5% of a core, RSS not growing over an hour',
    rows: [{ suite: 'kafka', name: /^idle / }],
    behaviour: 'RSS over an hour: test/cli/idle-cost.test.ts with PYRALOG_IDLE_SOAK_S=3600',
  },
];

export type Verdict = 'met' | 'NOT met' | 'incomplete' | 'no figure' | 'tests';

export interface CheckedRow {
  suite: SuiteName;
  name: string;
  ratio: number;
  target: string;
  met: boolean;
  /** Each round's ratio, when the row comes from alternating rounds (its ratio is then their median). */
  roundRatios?: number[];
}

export interface TargetResult {
  id: number;
  title: string;
  verdict: Verdict;
  rows: CheckedRow[];
  behaviour?: string;
}

/** Whether a row meets its bound: its own `met` when written, else derived from ratio and target. */
function rowMet(row: SuiteRow): boolean | null {
  return typeof row.met === 'boolean' ? row.met : meetsTarget(row.ratio, row.target);
}

export function checkRun(run: RunResults): TargetResult[] {
  return TARGETS.map((spec) => {
    const rows: CheckedRow[] = [];
    for (const { suite, name } of spec.rows) {
      for (const row of run.suites.get(suite)?.rows ?? []) {
        const met = rowMet(row);
        if (met !== null && name.test(row.name))
          rows.push({
            suite,
            name: row.name,
            ratio: row.ratio,
            target: row.target,
            met,
            ...(row.rounds === undefined ? {} : { roundRatios: row.rounds.map((round) => round.ratio) }),
          });
      }
    }
    let verdict: Verdict;
    if (rows.some((row) => !row.met)) verdict = 'NOT met';
    else if (rows.length === 0) verdict = spec.rows.length === 0 ? 'tests' : 'no figure';
    else if (spec.expectedRows !== undefined && rows.length < spec.expectedRows) verdict = 'incomplete';
    else verdict = 'met';
    return {
      id: spec.id,
      title: spec.title,
      verdict,
      rows,
      ...(spec.behaviour === undefined ? {} : { behaviour: spec.behaviour }),
    };
  });
}

/**
 * Over runs in order: for each target, in how many runs it was met, and
 * whether some window of `window` consecutive runs has it met in at least
 * `needed` of them (issue 18: 3 of 4). `allTogether` asks the same of every
 * target with figures in one window.
 */
export interface Streaks {
  perTarget: { id: number; metRuns: number; inWindow: boolean }[];
  allTogether: boolean;
}

export function consecutiveStreaks(results: readonly TargetResult[][], window = 4, needed = 3): Streaks {
  const ids = TARGETS.map((spec) => spec.id);
  const metIn = (id: number, run: number) =>
    results[run]!.find((result) => result.id === id)?.verdict === 'met';
  const windowOk = (id: number, start: number) => {
    let met = 0;
    for (let run = start; run < start + window; run++) if (metIn(id, run)) met++;
    return met >= needed;
  };
  const starts = Array.from({ length: Math.max(0, results.length - window + 1) }, (_, start) => start);
  // Targets that only tests check have no figure to count: they take no part in the windows.
  const counted = ids.filter((id) => TARGETS.find((spec) => spec.id === id)!.rows.length > 0);
  return {
    perTarget: ids.map((id) => ({
      id,
      metRuns: results.filter((_, run) => metIn(id, run)).length,
      inWindow: starts.some((start) => windowOk(id, start)),
    })),
    allTogether: starts.some((start) => counted.every((id) => windowOk(id, start))),
  };
}

/** A short form of a row's figures: `ratio (target) ok|MISSED`, and each round's ratio when it has rounds. */
export function describeRow(row: CheckedRow): string {
  // Small ratios (an idle broker's share of a core) keep two significant digits.
  const format = (ratio: number) => (Math.abs(ratio) >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2));
  const rounds =
    row.roundRatios === undefined ? '' : `; median of rounds ${row.roundRatios.map(format).join(', ')}`;
  return `${row.name}: ${format(row.ratio)} (${row.target}${rounds}) ${row.met ? 'ok' : 'MISSED'}`;
}
