import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { median, roundsRow, type SuiteRow, suiteRow } from '../../bench/support/suite-results.js';
import {
  checkRun,
  consecutiveStreaks,
  type RunResults,
  type SuiteFile,
  type TargetResult,
} from '../../tools/bench-targets/targets.js';
import { makeTempDir } from '../support/temp-dir.js';

/** Rows as the suites write them, every target met unless `overrides` changes a figure. */
function kafkaRows(overrides: { acceptorUs?: number; e2eP99Us?: number } = {}): SuiteRow[] {
  return [
    suiteRow('acks=1, fsync never, 1 batch/request vs raw loopback TCP', 'MB/s', 500, 300),
    suiteRow('acks=1, fsync never, 1 batch/request vs raw TCP into a file', 'MB/s', 300, 290, '>= 0.9'),
    suiteRow('acks=1, fsync never, 8 batches/request vs raw TCP into a file', 'MB/s', 300, 280, '>= 0.9'),
    suiteRow(
      'acks=-1, fsync always, 1 batch/request vs raw write + fdatasync per 32',
      'MB/s',
      100,
      70,
      '>= 0.6',
    ),
    suiteRow(
      'acks=-1, fsync always, 8 batches/request vs raw write + fdatasync per 32',
      'MB/s',
      100,
      90,
      '>= 0.85',
    ),
    roundsRow('steady p99 vs raw loopback TCP p99', 'µs', [{ baseline: 500, value: 900 }], '<= 2'),
    roundsRow('steady p99.9 vs raw loopback TCP p99.9', 'µs', [{ baseline: 900, value: 2000 }], '<= 3'),
    roundsRow(
      'end-to-end p99 (produce -> consume) vs raw loopback TCP p99',
      'µs',
      [{ baseline: 500, value: overrides.e2eP99Us ?? 1200 }],
      '<= 3',
    ),
    roundsRow('end-to-end p99.9 vs raw loopback TCP p99.9', 'µs', [{ baseline: 900, value: 9000 }]),
    suiteRow('first 6 s p99 of a fresh broker vs its steady p99', 'µs', 900, 2000, '<= 3'),
    suiteRow(
      'CPU per request: pyralog acceptor vs a raw Node TCP echo',
      'µs',
      20,
      overrides.acceptorUs ?? 35,
      '<= 2',
    ),
    suiteRow('CPU per request: pyralog shard 0 vs a raw Node TCP echo', 'µs', 20, 25, '<= 1.5'),
    suiteRow('CPU per request: pyralog, all threads vs a raw Node TCP echo', 'µs', 20, 90),
  ];
}

function wsRows(): SuiteRow[] {
  return [
    suiteRow('client produce ingest vs a raw uWS echo', 'records/s', 100_000, 80_000, '>= 0.7'),
    roundsRow(
      'WebSocket end-to-end p99 vs Kafka end-to-end p99',
      'µs',
      [{ baseline: 1000, value: 900 }],
      '<= 1',
    ),
  ];
}

function peersRows(count: number): SuiteRow[] {
  return Array.from({ length: count }, (_, i) =>
    suiteRow(`p99${i % 2 === 1 ? '.9' : ''} at 5k vs redis (every ack) #${i}`, 'µs', 5000, 4000, '<= 1'),
  );
}

function run(label: string, files: Partial<Record<'kafka' | 'ws' | 'peers', SuiteRow[]>>): RunResults {
  const suites = new Map<string, SuiteFile>();
  for (const [suite, rows] of Object.entries(files))
    suites.set(suite, { suite, date: '2026-12-03T20:00:00.000Z', rows });
  return { label, suites };
}

const verdicts = (results: readonly TargetResult[]) =>
  results.map((result) => `${result.id} ${result.verdict}`);

describe('rows from alternating rounds', () => {
  it('given rounds with one noisy round then the ratio is the median of the rounds, not the ratio of medians', () => {
    const row = roundsRow(
      'steady p99 vs raw loopback TCP p99',
      'µs',
      [
        { baseline: 500, value: 900 },
        { baseline: 5000, value: 6000 }, // a neighbour's burst slowed both sides
        { baseline: 600, value: 1000 },
        { baseline: 400, value: 9000 }, // a burst on the broker's side alone
      ],
      '<= 2',
    );
    expect(row.rounds!.map((round) => Number(round.ratio.toFixed(3)))).toEqual([1.8, 1.2, 1.667, 22.5]);
    expect(row.ratio).toBeCloseTo((1.667 + 1.8) / 2, 2);
    expect(row.met).toBe(true);
    expect(row.baseline).toBe(550);
    expect(row.value).toBe(3500);
  });

  it('takes the middle value, or the mean of the middle two, and NaN for nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(median([1, Number.NaN])).toBeNaN();
  });
});

describe('issue 18 target checker', () => {
  it('given a run meeting every bound then each target with figures is met and the behaviours are left to tests', () => {
    const results = checkRun(run('a', { kafka: kafkaRows(), ws: wsRows(), peers: peersRows(16) }));
    expect(verdicts(results)).toEqual([
      '1 met',
      '2 met',
      '3 met',
      '4 met',
      '5 met',
      '6 met',
      '7 met',
      '8 tests',
      '9 no figure',
    ]);
    // Rows without a bound are never counted.
    expect(results[0]!.rows.map((row) => row.name)).toEqual([
      'CPU per request: pyralog acceptor vs a raw Node TCP echo',
      'CPU per request: pyralog shard 0 vs a raw Node TCP echo',
    ]);
    expect(results[4]!.rows).toHaveLength(1);
  });

  it('given one missed row then its target is not met, whatever its other rows do', () => {
    const results = checkRun(
      run('b', { kafka: kafkaRows({ acceptorUs: 80, e2eP99Us: 4000 }), ws: wsRows(), peers: peersRows(16) }),
    );
    expect(results[0]!.verdict).toBe('NOT met');
    expect(results[0]!.rows.find((row) => !row.met)!.ratio).toBe(4);
    expect(results[4]!.verdict).toBe('NOT met');
    expect(results[1]!.verdict).toBe('met');
  });

  it('given missing suites or fewer peer comparisons than 8 then those targets say so instead of met', () => {
    const results = checkRun(run('c', { kafka: kafkaRows(), peers: peersRows(14) }));
    expect(results[5]!.verdict).toBe('no figure');
    expect(results[6]!.verdict).toBe('incomplete');
  });

  it('given four runs then a target met in 3 of 4 consecutive runs is found, and one met in 2 is not', () => {
    const good = { ws: wsRows(), peers: peersRows(16) };
    const results = [
      checkRun(run('1', { kafka: kafkaRows(), ...good })),
      checkRun(run('2', { kafka: kafkaRows({ acceptorUs: 80 }), ...good })),
      checkRun(run('3', { kafka: kafkaRows({ e2eP99Us: 4000 }), ...good })),
      checkRun(run('4', { kafka: kafkaRows({ e2eP99Us: 4000 }), ...good })),
    ];
    const streaks = consecutiveStreaks(results);
    const of = (id: number) => streaks.perTarget.find((streak) => streak.id === id)!;
    expect(of(1)).toEqual({ id: 1, metRuns: 3, inWindow: true });
    expect(of(5)).toEqual({ id: 5, metRuns: 2, inWindow: false });
    expect(of(9).inWindow).toBe(false);
    expect(streaks.allTogether).toBe(false);
    expect(consecutiveStreaks(results.slice(0, 3)).perTarget[0]!.inWindow).toBe(false);
  });
});

describe('npm run bench:targets', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());

  it('given kept runs in a directory then it reads them in date order and prints each target per run', () => {
    const temp = makeTempDir('bench-targets');
    cleanup = temp.cleanup;
    const write = (dir: string, suite: string, rows: SuiteRow[]) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, `${suite}.json`),
        JSON.stringify({ suite, date: '2026-12-03', notes: {}, rows }),
      );
    };
    const runs = join(temp.dir, 'runs');
    write(join(runs, '2026-12-03T20-00-a'), 'kafka', kafkaRows());
    write(join(runs, '2026-12-03T21-00-b'), 'kafka', kafkaRows({ acceptorUs: 80 }));
    write(join(runs, '2026-12-03T21-00-b'), 'ws', wsRows());
    const output = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'tools/bench-targets.ts', '--runs', runs],
      {
        encoding: 'utf8',
      },
    );
    expect(output).toContain('2026-12-03T20-00-a');
    expect(output.indexOf('T20-00-a')).toBeLessThan(output.indexOf('T21-00-b'));
    expect(output).toMatch(/CPU per request: pyralog acceptor vs a raw Node TCP echo: 4\.00 \(<= 2\) MISSED/);
    // A row from rounds shows each round's ratio beside the median that decides it.
    expect(output).toContain('steady p99 vs raw loopback TCP p99: 1.80 (<= 2; median of rounds 1.80) ok');
    expect(output).toMatch(/^ {2} 1 {2}met {8}NOT met {5}1 of 2 {3}no$/m);
    expect(output).toContain('every target with figures met in at least 3 of some 4 consecutive runs: no');
  });
});
