import { createInterface } from 'node:readline';
import { UsageError } from './cli-errors.js';
import {
  type CommandSpec,
  commonOptions,
  helpText,
  integerValue,
  parseCommand,
  requirePositional,
  stringValue,
  stringValues,
} from './command-spec.js';
import { BrokerHttp } from './http-admin.js';
import { type OutputFormat, outputFormat, renderYaml } from './output.js';
import { Progress } from './progress.js';

/**
 * `pyralog produce`: sends records through the broker's HTTP API, from
 * arguments or one record per line of standard input, in batches, and prints
 * where each landed.
 */
const spec: CommandSpec = {
  name: 'pyralog produce',
  positionals: 'TOPIC [VALUE ...]',
  summary: 'send records to a topic: the VALUEs given, or one record per line of standard input',
  options: {
    key: { type: 'string', short: 'k', valueName: 'KEY', description: 'key of every record' },
    'key-delimiter': {
      type: 'string',
      short: 'K',
      valueName: 'SEP',
      description: 'split each line at the first SEP into key and value (as kcat -K)',
    },
    header: {
      type: 'string',
      short: 'H',
      multiple: true,
      valueName: 'NAME=VALUE',
      description: 'a header on every record',
    },
    partition: {
      type: 'string',
      short: 'p',
      valueName: 'P',
      description: 'send every record to partition P',
    },
    partitioner: {
      type: 'string',
      valueName: 'murmur2|round-robin|random',
      description: "where records without --partition go [murmur2: Kafka's key hash; no key: round robin]",
    },
    acks: { type: 'string', valueName: 'all|1|0', description: 'acknowledgement to wait for [all]' },
    'batch-records': { type: 'string', valueName: 'N', description: 'records per request [500]' },
    ...commonOptions,
  },
  details: `Output: TOPIC-PARTITION@OFFSET per record (table), or one JSON object per line (json).
Examples:
  echo '{"id":1}' | pyralog produce events
  printf 'user-1:{"clicks":3}\\n' | pyralog produce events -K : -H source=cli`,
};

interface OutRecord {
  key?: string;
  value: string;
  headers?: Record<string, string>;
  partition?: number;
}

type Partitioner = 'murmur2' | 'round-robin' | 'random';

function printOffsets(
  format: OutputFormat,
  topic: string,
  offsets: readonly { partition: number; offset: number }[],
): void {
  const lines = offsets.map((o) => {
    if (format === 'json') return JSON.stringify({ topic, partition: o.partition, offset: o.offset });
    if (format === 'yaml') return renderYaml([{ topic, partition: o.partition, offset: o.offset }]);
    return `${topic}-${o.partition}@${o.offset}`;
  });
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

export async function produceCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (parsed === null) return 0;
  const usage = helpText(spec);
  const format = outputFormat(stringValue(parsed.values, 'format'), usage);
  const topic = requirePositional(spec, parsed, 0, 'TOPIC');
  const values = parsed.positionals.slice(1);
  const key = stringValue(parsed.values, 'key');
  const keyDelimiter = stringValue(parsed.values, 'key-delimiter');
  if (key !== undefined && keyDelimiter !== undefined)
    throw new UsageError('give --key or --key-delimiter, not both', usage);
  if (keyDelimiter === '') throw new UsageError('--key-delimiter cannot be empty', usage);
  const headers: Record<string, string> = {};
  for (const entry of stringValues(parsed.values, 'header')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--header "${entry}" must be NAME=VALUE`, usage);
    headers[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const fixedPartition =
    stringValue(parsed.values, 'partition') === undefined
      ? undefined
      : integerValue(spec, parsed.values, 'partition', 0, 0);
  const partitioner = (stringValue(parsed.values, 'partitioner') ?? 'murmur2') as Partitioner;
  if (!['murmur2', 'round-robin', 'random'].includes(partitioner))
    throw new UsageError('--partitioner must be murmur2, round-robin or random', usage);
  const acks = stringValue(parsed.values, 'acks') ?? 'all';
  if (!['all', '-1', '1', '0'].includes(acks)) throw new UsageError('--acks must be all, 1 or 0', usage);
  const batchRecords = integerValue(spec, parsed.values, 'batch-records', 500, 1, 100_000);

  const http = BrokerHttp.fromOptions(parsed.values);
  let partitionCount = 0;
  if (fixedPartition === undefined && partitioner !== 'murmur2') {
    partitionCount = (await http.get<{ partitions: unknown[] }>(http.topicPath(topic))).partitions.length;
  }
  let roundRobin = Math.floor(Math.random() * Math.max(1, partitionCount));
  const choosePartition = (): number | undefined => {
    if (fixedPartition !== undefined) return fixedPartition;
    if (partitioner === 'round-robin') return roundRobin++ % partitionCount;
    if (partitioner === 'random') return Math.floor(Math.random() * partitionCount);
    return undefined;
  };
  const hasHeaders = Object.keys(headers).length > 0;
  const toRecord = (line: string): OutRecord => {
    let recordKey = key;
    let value = line;
    if (keyDelimiter !== undefined) {
      const at = line.indexOf(keyDelimiter);
      if (at >= 0) {
        recordKey = line.slice(0, at);
        value = line.slice(at + keyDelimiter.length);
      }
    }
    const partition = choosePartition();
    return {
      value,
      ...(recordKey === undefined ? {} : { key: recordKey }),
      ...(hasHeaders ? { headers } : {}),
      ...(partition === undefined ? {} : { partition }),
    };
  };

  const endpoint = `${http.topicPath(topic)}/records?acks=${acks === '-1' ? 'all' : acks}`;
  const progress = new Progress(`producing to ${topic}`);
  let sent = 0;
  const send = async (lines: readonly string[]): Promise<void> => {
    const result = await http.post<{ offsets: { partition: number; offset: number }[] }>(
      endpoint,
      lines.map(toRecord),
    );
    sent += lines.length;
    printOffsets(format, topic, result.offsets);
    progress.update(sent);
  };
  try {
    if (values.length > 0) {
      for (let i = 0; i < values.length; i += batchRecords) await send(values.slice(i, i + batchRecords));
      return 0;
    }
    let pending: string[] = [];
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
      pending.push(line);
      if (pending.length >= batchRecords) {
        await send(pending);
        pending = [];
      }
    }
    if (pending.length > 0) await send(pending);
    return 0;
  } finally {
    progress.done();
  }
}
