import { errorMessage } from '../common/errors.js';
import { TokenStore } from '../security/token-store.js';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import {
  type CommandSpec,
  helpText,
  type ParsedCommand,
  requirePositional,
  runSubcommand,
  type Subcommand,
  stringValue,
} from './command-spec.js';

/**
 * `pyralog token create|revoke --data DIR`: bearer tokens for HTTP and WebSocket, signed with the
 * key in the data directory. The token is printed once and not kept; revoke it by the id printed
 * with it. A running broker sees a revocation on the next request that uses the token.
 */
const dataOption = {
  data: { type: 'string', valueName: 'DIR', description: 'the broker data directory (required)' },
} as const;

const createSpec: CommandSpec = {
  name: 'pyralog token create',
  summary: 'make a bearer token for a user',
  options: {
    ...dataOption,
    user: { type: 'string', valueName: 'NAME', description: 'the user the token acts for (required)' },
    ttl: { type: 'string', valueName: 'DURATION', description: 'how long it is valid: 30m, 1h, 7d [1h]' },
  },
  details: 'Prints the id (for revoke), the expiry and the token.',
};

const revokeSpec: CommandSpec = {
  name: 'pyralog token revoke',
  positionals: 'ID',
  summary: 'revoke a token by its id',
  options: dataOption,
};

/** `90s`, `30m`, `1h`, `7d` (or plain milliseconds) to milliseconds; NaN when malformed. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) return Number.NaN;
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  return Number(match[1]) * (unitMs[match[2] ?? 'ms'] ?? Number.NaN);
}

function openTokens(spec: CommandSpec, parsed: ParsedCommand): TokenStore {
  const dataDir = stringValue(parsed.values, 'data');
  if (dataDir === undefined) throw new UsageError('--data DIR is required', helpText(spec));
  try {
    return new TokenStore(dataDir);
  } catch (error) {
    throw new CliError(`cannot open the token key of ${dataDir}: ${errorMessage(error)}`, ExitCode.FAILURE);
  }
}

const subcommands: Record<string, Subcommand> = {
  create: {
    spec: createSpec,
    async run(parsed) {
      const user = stringValue(parsed.values, 'user');
      if (user === undefined) throw new UsageError('--user NAME is required', helpText(createSpec));
      const ttlMs = parseDurationMs(stringValue(parsed.values, 'ttl') ?? '1h');
      if (!(ttlMs > 0)) throw new UsageError('--ttl must be like 30m, 1h or 7d', helpText(createSpec));
      let issued: ReturnType<TokenStore['issue']>;
      try {
        issued = openTokens(createSpec, parsed).issue(user, ttlMs);
      } catch (error) {
        throw new UsageError(errorMessage(error), helpText(createSpec));
      }
      console.log(
        `id: ${issued.id}\nexpires: ${new Date(issued.expiresAtMs).toISOString()}\ntoken: ${issued.token}`,
      );
      return ExitCode.OK;
    },
  },
  revoke: {
    spec: revokeSpec,
    async run(parsed) {
      const id = requirePositional(revokeSpec, parsed, 0, 'ID');
      openTokens(revokeSpec, parsed).revoke(id);
      console.log(`revoked ${id}`);
      return ExitCode.OK;
    },
  },
};

export function tokenCommand(argv: readonly string[]): Promise<number> {
  return runSubcommand(
    'pyralog token',
    'Bearer tokens for HTTP and WebSocket: create, revoke.',
    subcommands,
    argv,
  );
}
