/**
 * `npm run bench:targets`: issue 18's nine targets as met / not met, from the
 * rows the suites wrote to bench/out/{kafka,ws,peers}.json.
 *
 *   npm run bench:targets                       the last run (bench/out)
 *   npm run bench:targets -- --save             also keeps it: bench/out/runs/<date>-<commit>/
 *   npm run bench:targets -- --runs DIR...      several runs, in the order given; a DIR holding no suite
 *                                               file stands for its subdirectories, in name (date) order,
 *                                               so `--runs bench/out/runs` reads every kept run
 *   --strict                                    exit 1 unless every target with figures is met (last run)
 *
 * With several runs it also says, for each target, whether some 4
 * consecutive runs have it met in at least 3 (the issue's "done when").
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkRun,
  consecutiveStreaks,
  describeRow,
  type RunResults,
  type SuiteFile,
  type TargetResult,
} from './bench-targets/targets.js';

const SUITES = ['kafka', 'ws', 'peers'] as const;
const OUT_DIR = join(process.cwd(), 'bench', 'out');

function readRun(dir: string): RunResults | null {
  const suites = new Map<string, SuiteFile>();
  for (const suite of SUITES) {
    const file = join(dir, `${suite}.json`);
    if (existsSync(file)) suites.set(suite, JSON.parse(readFileSync(file, 'utf8')) as SuiteFile);
  }
  return suites.size === 0 ? null : { label: dir, suites };
}

/** The runs named by `dirs`: each a run, or (holding no suite file) the parent of runs. */
function readRuns(dirs: readonly string[]): RunResults[] {
  const runs: RunResults[] = [];
  for (const dir of dirs) {
    const run = readRun(dir);
    if (run !== null) {
      runs.push(run);
      continue;
    }
    const children = existsSync(dir)
      ? readdirSync(dir)
          .filter((name) => statSync(join(dir, name)).isDirectory())
          .sort()
      : [];
    for (const child of children) {
      const childRun = readRun(join(dir, child));
      if (childRun !== null) runs.push(childRun);
    }
  }
  return runs;
}

/** Copies the suite files of bench/out into bench/out/runs/<date>-<commit>/ and returns that directory. */
function saveRun(): string {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // Not a checkout: the date alone names the run.
  }
  const dir = join(OUT_DIR, 'runs', `${new Date().toISOString().replaceAll(':', '-')}-${commit}`);
  mkdirSync(dir, { recursive: true });
  for (const suite of SUITES) {
    const file = join(OUT_DIR, `${suite}.json`);
    if (existsSync(file)) copyFileSync(file, join(dir, `${suite}.json`));
  }
  return dir;
}

function printRun(run: RunResults, results: readonly TargetResult[]): void {
  const dates = [...run.suites.values()].map((file) => `${file.suite} ${file.date}`).join(', ');
  console.log(`${run.label} (${dates})`);
  for (const result of results) {
    console.log(`  ${String(result.id).padStart(2)}  ${result.verdict.padEnd(10)}  ${result.title}`);
    for (const row of result.rows) console.log(`        ${describeRow(row)}`);
    if (result.behaviour !== undefined) console.log(`        not a figure: ${result.behaviour}`);
  }
}

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runDirs = runsAt >= 0 ? args.slice(runsAt + 1).filter((arg) => !arg.startsWith('--')) : [OUT_DIR];
if (args.includes('--save')) console.log(`kept as ${saveRun()}`);
const runs = readRuns(runDirs);
if (runs.length === 0) {
  console.error(
    `no suite results (${SUITES.join(', ')}.json) in ${runDirs.join(', ')}: run the suites first`,
  );
  process.exit(2);
}
const results = runs.map((run) => checkRun(run));
for (const [index, run] of runs.entries()) printRun(run, results[index]!);
if (runs.length > 1) {
  const streaks = consecutiveStreaks(results);
  console.log(`\nover ${runs.length} runs (in the order given):`);
  console.log(
    `  id  ${runs.map((_, index) => `run ${index + 1}`.padEnd(10)).join(' ')}  met in   3 of 4 consecutive`,
  );
  for (const streak of streaks.perTarget) {
    const verdicts = results.map((run) => run.find((result) => result.id === streak.id)!.verdict.padEnd(10));
    console.log(
      `  ${String(streak.id).padStart(2)}  ${verdicts.join(' ')}  ${`${streak.metRuns} of ${runs.length}`.padEnd(7)}  ${streak.inWindow ? 'yes' : 'no'}`,
    );
  }
  console.log(
    `every target with figures met in at least 3 of some 4 consecutive runs: ${streaks.allTogether ? 'yes' : 'no'}`,
  );
}
if (args.includes('--strict')) {
  const last = results.at(-1)!;
  if (last.some((result) => result.verdict !== 'met' && result.verdict !== 'tests')) process.exitCode = 1;
}
