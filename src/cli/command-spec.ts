import { parseArgs } from 'node:util';
import { UsageError } from './cli-errors.js';

/**
 * A command's options, described once: node:util's parseArgs reads them and
 * the help text is written from them, so `--help` always tells the truth.
 * Every command accepts `--help`/`-h`; `commonOptions` adds `--url` and
 * `--format` to commands that talk to a broker.
 */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Shown in help: `--partitions N`. */
  readonly valueName?: string;
  readonly description: string;
}

export interface CommandSpec {
  /** `pyralog topic create`. */
  readonly name: string;
  /** Positional arguments as help shows them: `NAME`, `TOPIC [VALUE ...]`. */
  readonly positionals?: string;
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Further paragraphs of help (examples, formats). */
  readonly details?: string;
}

export const urlOption: Record<string, OptionSpec> = {
  url: {
    type: 'string',
    valueName: 'URL',
    description: 'broker HTTP address [$PYRALOG_URL or http://127.0.0.1:8080]',
  },
};

export const formatOption: Record<string, OptionSpec> = {
  format: { type: 'string', valueName: 'table|json|yaml', description: 'output format [table]' },
};

export const commonOptions: Record<string, OptionSpec> = { ...urlOption, ...formatOption };

const helpOption: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function helpText(spec: CommandSpec): string {
  const options = { ...spec.options, ...helpOption };
  const rows = Object.entries(options).map(([name, option]) => {
    const flag = `${option.short === undefined ? '    ' : `-${option.short}, `}--${name}`;
    const value = option.type === 'string' ? ` ${option.valueName ?? 'VALUE'}` : '';
    const repeat = option.multiple === true ? ' (repeatable)' : '';
    return [`${flag}${value}`, `${option.description}${repeat}`] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  const lines = [
    `Usage: ${spec.name}${spec.positionals === undefined ? '' : ` ${spec.positionals}`} [options]`,
    '',
    spec.summary,
    '',
    'Options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
  ];
  if (spec.details !== undefined) lines.push('', spec.details);
  return lines.join('\n');
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface ParsedCommand {
  readonly values: OptionValues;
  readonly positionals: string[];
}

/** Parses argv for `spec`; null means help was asked for (and printed). Mistakes throw UsageError. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedCommand | null {
  const options = { ...spec.options, ...helpOption };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(options).map(([name, option]) => [
          name,
          {
            type: option.type,
            ...(option.short === undefined ? {} : { short: option.short }),
            ...(option.multiple === true ? { multiple: true } : {}),
          },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(helpText(spec));
      return null;
    }
    throw new UsageError(error instanceof Error ? error.message : String(error), helpText(spec));
  }
  if (parsed.values.help === true) {
    console.log(helpText(spec));
    return null;
  }
  return { values: parsed.values as OptionValues, positionals: parsed.positionals };
}

export function stringValue(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function stringValues(values: OptionValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A whole number option within [min, max]; `fallback` when absent. */
export function integerValue(
  spec: CommandSpec,
  values: OptionValues,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const text = stringValue(values, name);
  if (text === undefined) return fallback;
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${max}, not "${text}"`,
      helpText(spec),
    );
  }
  return value;
}

/** The one positional a command requires, by the name help gives it. */
export function requirePositional(
  spec: CommandSpec,
  parsed: ParsedCommand,
  index: number,
  name: string,
): string {
  const value = parsed.positionals[index];
  if (value === undefined) throw new UsageError(`missing ${name}`, helpText(spec));
  return value;
}

/** A command made of subcommands (`pyralog topic create|list|…`). */
export interface Subcommand {
  readonly spec: CommandSpec;
  run(parsed: ParsedCommand): Promise<number>;
}

export function groupHelp(
  name: string,
  summary: string,
  subcommands: Readonly<Record<string, Subcommand>>,
): string {
  const width = Math.max(...Object.keys(subcommands).map((key) => key.length));
  return [
    `Usage: ${name} <${Object.keys(subcommands).join('|')}> [options]`,
    '',
    summary,
    '',
    'Commands:',
    ...Object.entries(subcommands).map(([key, sub]) => `  ${key.padEnd(width)}  ${sub.spec.summary}`),
    '',
    `Run "${name} <command> --help" for a command's options.`,
  ].join('\n');
}

/** Dispatches to a subcommand; `--help` on the group lists them. */
export async function runSubcommand(
  name: string,
  summary: string,
  subcommands: Readonly<Record<string, Subcommand>>,
  argv: readonly string[],
): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    console.log(groupHelp(name, summary, subcommands));
    return action === undefined ? 2 : 0;
  }
  const sub = subcommands[action];
  if (sub === undefined) {
    throw new UsageError(`unknown command "${action}"`, groupHelp(name, summary, subcommands));
  }
  const parsed = parseCommand(sub.spec, rest);
  if (parsed === null) return 0;
  return sub.run(parsed);
}
