import { BenchOptionError, benchUsage, parseBenchOptions } from './bench-options.js';
import { formatReport, runBench } from './run-bench.js';

/** `pyralog bench …`: load a running broker and report; `pyralog bench plot …`: charts from results. */
export async function benchCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(benchUsage);
    return 0;
  }
  if (argv[0] === 'plot') {
    const { plotCommand } = await import('./plot-command.js');
    return plotCommand(argv.slice(1));
  }
  let options: ReturnType<typeof parseBenchOptions>;
  try {
    options = parseBenchOptions(argv);
  } catch (error) {
    if (error instanceof BenchOptionError) {
      console.error(`pyralog bench: ${error.message}\n\n${benchUsage}`);
      return 2;
    }
    throw error;
  }
  const result = await runBench(options);
  console.log(formatReport(result));
  console.log(`  results: ${options.outDir}/${options.label}.json and .hgrm`);
  return (result.producer?.errors ?? 0) + (result.consumer?.errors ?? 0) > 0 ? 1 : 0;
}
