/**
 * `npm run bench -- [name ...]` runs the named benchmark suites (all when
 * none is named). Each suite is bench/<name>.bench.ts exporting
 * `run(): Promise<void>`, prints its own baseline measured in the same run,
 * and the ratio of each figure to it.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface BenchSuite {
  run(args: readonly string[]): Promise<void>;
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(benchDir)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();

const args = process.argv.slice(2);
const requested = args.filter((arg) => !arg.startsWith('-'));
const flags = args.filter((arg) => arg.startsWith('-'));
const names = requested.length > 0 ? requested : available;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
}
for (const name of names) {
  console.log(`\n=== bench ${name} ===`);
  const suite = (await import(`./${name}.bench.ts`)) as BenchSuite;
  await suite.run(flags);
}
