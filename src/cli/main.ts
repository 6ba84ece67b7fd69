import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, errorMessage } from '../common/errors.js';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import { serve } from './serve.js';

/**
 * The `pyralog` command. Each subcommand lives in its own module; this file
 * only dispatches and turns typed errors into messages and exit codes.
 */
const usage = `Usage: pyralog <command> [options]

Commands:
  serve      run the broker
  topic      create, list, describe, alter-config, add-partitions, delete topics
  produce    send records to a topic, from arguments or standard input
  consume    read records from all partitions of a topic, or follow them
  group      consumer groups: list, describe (lag), reset-offsets, delete
  cluster    info and health of the broker; up: a local 3-broker cluster
  sql        a read-only SQL query over topics (DuckDB)
  export     a topic, or a range of it, as a Parquet file
  bench      load generator and latency profiler
  user       SASL users and their SCRAM credentials: create, delete, list (--data DIR or --url)
  verify     check a stopped broker's data directory and name every damaged batch (--data DIR)
  acl        ACLs: add, remove, list (--data DIR; a running broker picks changes up)
  token      bearer tokens for HTTP and WebSocket: create, revoke (--data DIR)

Commands other than serve, bench, verify, acl and token (and user with --data) talk to a running broker over
HTTP(S): --url or $PYRALOG_URL [http://127.0.0.1:8080]; credentials, when the broker requires them, from
$PYRALOG_TOKEN or $PYRALOG_USER and $PYRALOG_PASSWORD. Output is a table; --format json|yaml for scripts.
Exit codes: 0 ok, 1 other failure, 2 usage, 3 broker unreachable, 4 not found, 5 conflict,
6 refused by the broker, 7 broker unavailable or timed out.

Run "pyralog <command> --help" for a command's options.`;

type Command = (argv: readonly string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => serve,
  topic: async () => (await import('./topic-command.js')).topicCommand,
  produce: async () => (await import('./produce-command.js')).produceCommand,
  consume: async () => (await import('./consume-command.js')).consumeCommand,
  group: async () => (await import('./group-command.js')).groupCommand,
  cluster: async () => (await import('./cluster-command.js')).clusterCommand,
  sql: async () => (await import('./sql-command.js')).sqlCommand,
  export: async () => (await import('./export-command.js')).exportCommand,
  bench: async () => (await import('./bench/bench-command.js')).benchCommand,
  verify: async () => (await import('./verify-command.js')).verifyCommand,
  user: async () => (await import('./user-command.js')).userCommand,
  acl: async () => (await import('./acl-command.js')).aclCommand,
  token: async () => (await import('./token-command.js')).tokenCommand,
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
      return ExitCode.USAGE;
    }
    if (error instanceof UsageError) {
      console.error(`pyralog ${name}: ${error.message}\n\n${error.usage}`);
      return error.exitCode;
    }
    if (error instanceof CliError) {
      console.error(`pyralog ${name}: ${error.message}`);
      return error.exitCode;
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
