import { startBroker } from '../server/broker.js';
import { resolveServeConfig, serveUsage } from './serve-options.js';
import { formatServingLine } from './serving-line.js';

/**
 * `pyralog serve`: runs the broker until SIGINT or SIGTERM, then stops it
 * gracefully (stop accepting, drain the rings, final fsync, clean-shutdown
 * markers) within the shutdown timeout, and exits 0. A second signal exits
 * at once.
 */
export async function serve(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(serveUsage());
    return 0;
  }
  const config = resolveServeConfig(argv);
  const broker = await startBroker(config);
  console.error(formatServingLine(config, broker));
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) process.exit(130);
      console.error(`pyralog: ${signal}, stopping`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const timer = setTimeout(() => {
    console.error('pyralog: graceful stop took too long; exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs + 2000);
  timer.unref();
  await broker.stop();
  return 0;
}
