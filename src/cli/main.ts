import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, errorMessage } from '../common/errors.js';
import { serve } from './serve.js';

/**
 * The `pyralog` command. Each subcommand lives in its own module; this file
 * only dispatches and turns typed errors into messages and exit codes.
 */
const usage = `Usage: pyralog <command> [options]

Commands:
  serve      run the broker (pyralog serve --help for options)
  topic      create, list, describe or delete topics (over HTTP)
  produce    send records to a topic (over HTTP)
  consume    read records from a topic (over HTTP)
  bench      load generator and latency profiler

Run "pyralog <command> --help" for a command's options.`;

type Command = (argv: readonly string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => serve,
  topic: async () => (await import('./topic-command.js')).topicCommand,
  produce: async () => (await import('./produce-command.js')).produceCommand,
  consume: async () => (await import('./consume-command.js')).consumeCommand,
  bench: async () => (await import('./bench/bench-command.js')).benchCommand,
};

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    console.error(`pyralog: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  try {
    return await (await load())(rest);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`pyralog ${name}: invalid option ${error.message}`);
      return 2;
    }
    throw error;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`pyralog: ${errorMessage(error)}`);
      process.exitCode = 1;
    },
  );
}
