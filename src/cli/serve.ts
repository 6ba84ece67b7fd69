import { startBroker } from '../server/broker.js';
import { resolveServeConfig, serveUsage } from './serve-options.js';
import { formatServingLine } from './serving-line.js';

/**
 * `pyralog serve`: runs the broker until SIGINT or SIGTERM, then stops it
 * gracefully (stop accepting, answer requests in progress, drain the rings,
 * final fsync, clean-shutdown markers) within shutdownBoundMs, and exits 0. A second signal exits
 * at once.
 */
/**
 * The longest a graceful stop may take before the process exits anyway: half the shutdown timeout
 * for requests in progress to be answered, the whole of it for the shards to sync and close, and
 * two seconds to spare.
 */
export function shutdownBoundMs(shutdownTimeoutMs: number): number {
  return Math.ceil(shutdownTimeoutMs * 1.5) + 2000;
}

export async function serve(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(serveUsage());
    return 0;
  }
  const config = resolveServeConfig(argv);
  const broker = await startBroker(config);
  console.error(formatServingLine(config, broker));
  // SIGHUP re-reads the TLS files and the credential file; a bad file is reported and the old one kept.
  process.on('SIGHUP', () => {
    try {
      broker.reloadSecurity();
      console.error('pyralog: SIGHUP, reloaded TLS certificates and credentials');
    } catch (error) {
      console.error(`pyralog: SIGHUP reload failed, keeping the previous files: ${(error as Error).message}`);
    }
  });
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
  }, shutdownBoundMs(config.shutdownTimeoutMs));
  timer.unref();
  await broker.stop();
  return 0;
}
