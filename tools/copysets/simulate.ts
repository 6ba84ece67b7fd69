/**
 * The copyset simulator's command:
 *   node --import tsx tools/copysets/simulate.ts [--quick] [--nodes 100,500,…] [--replication 3]
 *     [--failed-percent 1] [--replicas-per-broker 8000] [--scatter-widths 2,10] [--trials 1000000]
 *     [--enough-losses 4000] [--seed 1]
 * prints a Markdown table, one row per (cluster size, placement), as it goes.
 */
import { parseArgs } from 'node:util';
import {
  FULL_RUN,
  formatRow,
  QUICK_RUN,
  type SimulationOptions,
  simulate,
  TABLE_HEADER,
} from './simulation.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    nodes: { type: 'string' },
    replication: { type: 'string' },
    'failed-percent': { type: 'string' },
    'replicas-per-broker': { type: 'string' },
    'scatter-widths': { type: 'string' },
    trials: { type: 'string' },
    'enough-losses': { type: 'string' },
    seed: { type: 'string' },
  },
});

function numberOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`--${name} must be a non-negative number, got ${text}`);
  return value;
}

function listOption(name: string, text: string | undefined, fallback: readonly number[]): readonly number[] {
  return text === undefined ? fallback : text.split(',').map((part) => numberOption(name, part, 0));
}

const base = values.quick ? QUICK_RUN : FULL_RUN;
const options: SimulationOptions = {
  nodeCounts: listOption('nodes', values.nodes, base.nodeCounts),
  replicationFactor: numberOption('replication', values.replication, base.replicationFactor),
  failedPercent: numberOption('failed-percent', values['failed-percent'], base.failedPercent),
  replicasPerBroker: numberOption(
    'replicas-per-broker',
    values['replicas-per-broker'],
    base.replicasPerBroker,
  ),
  scatterWidths: listOption('scatter-widths', values['scatter-widths'], base.scatterWidths),
  seed: numberOption('seed', values.seed, base.seed),
  maxTrials: numberOption('trials', values.trials, base.maxTrials),
  enoughLosses: numberOption('enough-losses', values['enough-losses'], base.enoughLosses),
};

console.log(
  `R=${options.replicationFactor}, ${options.failedPercent}% of the nodes fail at once, ` +
    `${options.replicasPerBroker} partition replicas per broker, seed ${options.seed}`,
);
for (const line of TABLE_HEADER) console.log(line);
for (const row of simulate(options)) console.log(formatRow(row));
