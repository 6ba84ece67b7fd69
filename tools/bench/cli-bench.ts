/**
 * `npm run bench:peers` and `pyralog bench …` run from the sources, without a build. Comparing against
 * peer brokers is a developer's tool: it lives here in tools/, and the shipped command knows nothing of it.
 */
import { benchCommand } from '../../src/cli/bench/bench-command.js';

const argv = process.argv.slice(2);
if (argv[0] === 'peers') {
  const { runPeers } = await import('../peers/run-peers.js');
  const secondsIndex = argv.indexOf('--seconds');
  await runPeers(secondsIndex >= 0 ? Number(argv[secondsIndex + 1]) : 5);
} else {
  process.exitCode = await benchCommand(argv);
}
