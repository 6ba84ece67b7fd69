import { randomBytes } from 'node:crypto';
import {
  type CredentialMechanism,
  CredentialStore,
  isCredentialMechanism,
  type UserCredentialInfo,
} from '../security/credential-store.js';
import { SCRAM_SALT_BYTES, type ScramMechanism, saltedPassword } from '../security/scram.js';
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
  urlOption,
} from './command-spec.js';
import { BrokerHttp } from './http-admin.js';
import { outputFormat, printOutput, renderTable } from './output.js';

/**
 * `pyralog user`: SASL users and their SCRAM credentials, either in a data directory's credential
 * file (`--data DIR`: run it before the broker starts to make the first admin; a running broker
 * reads the file again on SIGHUP) or through a running broker's HTTP API (`--url`, without
 * `--data`), as an admin with Alter (changes) or Describe (list) on the cluster, whose credentials
 * come from PYRALOG_TOKEN or PYRALOG_USER/PYRALOG_PASSWORD. The broker path sends what Kafka's
 * AlterUserScramCredentials sends (salt, iterations, SaltedPassword), never the password, and the
 * broker's change takes effect at once. Passwords come from standard input only, never from
 * arguments (which other users of the machine can read in the process list).
 */
const dataOption: Record<string, OptionSpec> = {
  data: {
    type: 'string',
    valueName: 'DIR',
    description: "the broker's data directory (offline); without it, the broker at --url",
  },
  ...urlOption,
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
    'Example: printf %s "$PASSWORD" | pyralog user create alice --mechanism SCRAM-SHA-512 --password-stdin --data ./data\n' +
    'Against a running broker, as an admin: PYRALOG_TOKEN=... pyralog user create alice --password-stdin --url https://broker:8443',
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

/** The data directory's store with --data; null means: ask the broker at --url. */
function openStore(spec: CommandSpec, values: OptionValues): CredentialStore | null {
  const dir = stringValue(values, 'data');
  if (dir === undefined) return null;
  if (stringValue(values, 'url') !== undefined)
    throw new UsageError('give --data DIR or --url URL, not both', helpText(spec));
  return CredentialStore.open(dir);
}

function userPath(name: string): string {
  return `/users/${encodeURIComponent(name)}`;
}

/** Sets a password through the broker: the salted password is derived here, as Kafka clients do. */
async function setPasswordRemotely(
  http: BrokerHttp,
  name: string,
  mechanism: CredentialMechanism,
  password: string,
  iterations: number,
): Promise<void> {
  if (password.length === 0) throw new CliError('the password is empty', ExitCode.USAGE);
  const scram: ScramMechanism = mechanism === 'PLAIN' ? 'SCRAM-SHA-512' : mechanism;
  const salt = randomBytes(SCRAM_SALT_BYTES);
  const salted = await saltedPassword(scram, password, salt, iterations);
  await http.post(userPath(name), {
    mechanism: scram,
    iterations,
    salt: salt.toString('base64'),
    saltedPassword: salted.toString('base64'),
  });
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
      if (store === null) {
        const http = BrokerHttp.fromOptions(parsed.values);
        await setPasswordRemotely(http, name, mechanism, password, iterations);
        console.log(`user ${name}: ${mechanism} credential stored by the broker at ${http.baseUrl}`);
        return 0;
      }
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
      if (store === null) await BrokerHttp.fromOptions(parsed.values).delete(userPath(name));
      else if (!store.deleteUser(name)) throw new CliError(`no user ${name}`, ExitCode.NOT_FOUND);
      console.log(`user ${name} deleted`);
      return 0;
    },
  },
  list: {
    spec: listSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(listSpec));
      const store = openStore(listSpec, parsed.values);
      const users =
        store === null
          ? (await BrokerHttp.fromOptions(parsed.values).get<{ users: UserCredentialInfo[] }>('/users')).users
          : store.list();
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
    'SASL users and their SCRAM credentials (--data DIR, or a running broker at --url).',
    subcommands,
    argv,
  );
}
