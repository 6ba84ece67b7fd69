import { CredentialStore, isCredentialMechanism } from '../security/credential-store.js';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import {
  type CommandSpec,
  formatOption,
  helpText,
  integerValue,
  type OptionSpec,
  type OptionValues,
  requirePositional,
  runSubcommand,
  type Subcommand,
  stringValue,
} from './command-spec.js';
import { outputFormat, printOutput, renderTable } from './output.js';

/**
 * `pyralog user`: SASL users and their SCRAM credentials, in a data directory's credential file
 * (`--data DIR`). Run it before the broker starts to make the first admin; a running broker reads
 * the file again on SIGHUP. Passwords come from standard input only, never from arguments (which
 * other users of the machine can read in the process list).
 */
const dataOption: Record<string, OptionSpec> = {
  data: { type: 'string', valueName: 'DIR', description: "the broker's data directory (required)" },
};

const createSpec: CommandSpec = {
  name: 'pyralog user create',
  positionals: 'NAME',
  summary: 'create a user, or set its password for a mechanism',
  options: {
    ...dataOption,
    mechanism: {
      type: 'string',
      valueName: 'MECHANISM',
      description: 'SCRAM-SHA-512 (default) | SCRAM-SHA-256 | PLAIN (stored as a SCRAM-SHA-512 credential)',
    },
    'password-stdin': { type: 'boolean', description: 'read the password from standard input (required)' },
    iterations: {
      type: 'string',
      valueName: 'N',
      description: 'SCRAM iterations, 4096..16384 (default 4096)',
    },
  },
  details:
    'Example: printf %s "$PASSWORD" | pyralog user create alice --mechanism SCRAM-SHA-512 --password-stdin --data ./data',
};
const deleteSpec: CommandSpec = {
  name: 'pyralog user delete',
  positionals: 'NAME',
  summary: 'delete a user and all its credentials',
  options: dataOption,
};
const listSpec: CommandSpec = {
  name: 'pyralog user list',
  summary: 'list users and the mechanisms they have credentials for (never the credentials)',
  options: { ...dataOption, ...formatOption },
};

function openStore(spec: CommandSpec, values: OptionValues): CredentialStore {
  const dir = stringValue(values, 'data');
  if (dir === undefined) throw new UsageError('--data DIR is required', helpText(spec));
  return CredentialStore.open(dir);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    if (bytes > 4096)
      throw new CliError('the password on standard input is longer than 4096 bytes', ExitCode.USAGE);
  }
  // One trailing newline (from echo or a here-string) is not part of the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const subcommands: Record<string, Subcommand> = {
  create: {
    spec: createSpec,
    async run(parsed) {
      const name = requirePositional(createSpec, parsed, 0, 'NAME');
      const mechanism = stringValue(parsed.values, 'mechanism') ?? 'SCRAM-SHA-512';
      if (!isCredentialMechanism(mechanism)) {
        throw new UsageError(`unknown mechanism ${mechanism}`, helpText(createSpec));
      }
      if (parsed.values['password-stdin'] !== true) {
        throw new UsageError(
          '--password-stdin is required (passwords are never taken as arguments)',
          helpText(createSpec),
        );
      }
      const iterations = integerValue(createSpec, parsed.values, 'iterations', 4096, 4096, 16384);
      const store = openStore(createSpec, parsed.values);
      const password = await readStdin();
      try {
        await store.setPassword(name, mechanism, password, iterations);
      } catch (error) {
        if (error instanceof RangeError) throw new CliError(error.message, ExitCode.USAGE);
        throw error;
      }
      console.log(`user ${name}: ${mechanism} credential stored in ${store.path}`);
      return 0;
    },
  },
  delete: {
    spec: deleteSpec,
    async run(parsed) {
      const name = requirePositional(deleteSpec, parsed, 0, 'NAME');
      const store = openStore(deleteSpec, parsed.values);
      if (!store.deleteUser(name)) throw new CliError(`no user ${name}`, ExitCode.NOT_FOUND);
      console.log(`user ${name} deleted`);
      return 0;
    },
  },
  list: {
    spec: listSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(listSpec));
      const users = openStore(listSpec, parsed.values).list();
      printOutput(format, { users }, () =>
        renderTable(users, [
          { header: 'user', value: (u) => u.name },
          {
            header: 'mechanisms',
            value: (u) => u.credentials.map((c) => `${c.mechanism} (${c.iterations} iterations)`).join(', '),
          },
        ]),
      );
      return 0;
    },
  },
};

export function userCommand(argv: readonly string[]): Promise<number> {
  return runSubcommand(
    'pyralog user',
    'SASL users and their SCRAM credentials (--data DIR).',
    subcommands,
    argv,
  );
}
