import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BenchResult } from './run-bench.js';
import { renderPercentileChart, renderThroughputChart } from './svg-charts.js';

/**
 * `pyralog bench plot RESULT.json …`: a percentile-distribution chart of every
 * run's latencies (overlaid when several results are given) and a
 * throughput-over-time chart, as SVG files (no browser needed).
 */
export async function plotCommand(argv: readonly string[]): Promise<number> {
  const outIndex = argv.indexOf('--out');
  const outDir = outIndex >= 0 ? (argv[outIndex + 1] ?? '.') : '.';
  const files = argv.filter((arg, i) => !arg.startsWith('--') && (outIndex < 0 || i !== outIndex + 1));
  if (files.length === 0) {
    console.error('Usage: pyralog bench plot RESULT.json [RESULT.json …] [--out DIR]');
    return 2;
  }
  const results = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as BenchResult);
  const name = files.length === 1 ? basename(files[0]!, '.json') : 'overlay';
  const latencyPath = join(outDir, `${name}-latency.svg`);
  const throughputPath = join(outDir, `${name}-throughput.svg`);
  writeFileSync(latencyPath, renderPercentileChart(results));
  writeFileSync(throughputPath, renderThroughputChart(results));
  console.log(`wrote ${latencyPath} and ${throughputPath}`);
  // PNG copies when librsvg's converter is installed (Debian: librsvg2-bin); the SVGs are the charts of record.
  for (const svg of [latencyPath, throughputPath]) {
    const png = svg.replace(/\.svg$/, '.png');
    const converted = spawnSync('rsvg-convert', ['-o', png, svg], { stdio: 'ignore' });
    if (converted.status === 0) console.log(`wrote ${png}`);
  }
  return 0;
}
