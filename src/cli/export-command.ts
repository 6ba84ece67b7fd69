import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { UsageError } from './cli-errors.js';
import {
  type CommandSpec,
  helpText,
  integerValue,
  parseCommand,
  requirePositional,
  stringValue,
  urlOption,
} from './command-spec.js';
import { BrokerHttp } from './http-admin.js';
import { Progress } from './progress.js';

/** `pyralog export`: a topic, or a range of it, as a Parquet file (GET /topics/:t/export). */
const spec: CommandSpec = {
  name: 'pyralog export',
  positionals: 'TOPIC',
  summary: 'write a topic (or a range of it) to a Parquet file',
  options: {
    format: { type: 'string', valueName: 'parquet', description: 'file format [parquet]' },
    out: { type: 'string', short: 'o', valueName: 'FILE', description: 'where to write (required)' },
    partition: { type: 'string', short: 'p', valueName: 'P', description: 'only partition P [all]' },
    from: {
      type: 'string',
      valueName: 'N|@MS',
      description: 'first offset, or first time in ms, to include',
    },
    to: { type: 'string', valueName: 'N|@MS', description: 'offset, or time in ms, to stop before' },
    ...urlOption,
  },
  details: `Columns: partition, offset, timestamp, key, value, headers. The file holds what was readable
(up to each partition's high watermark) when the export started.`,
};

const BOUND = /^(\d{1,16}|@\d{1,16})$/;

export async function exportCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (parsed === null) return 0;
  const usage = helpText(spec);
  const topic = requirePositional(spec, parsed, 0, 'TOPIC');
  const format = stringValue(parsed.values, 'format') ?? 'parquet';
  if (format !== 'parquet') throw new UsageError('--format must be parquet', usage);
  const out = stringValue(parsed.values, 'out');
  if (out === undefined) throw new UsageError('--out FILE is required', usage);
  const query = new URLSearchParams({ format });
  if (stringValue(parsed.values, 'partition') !== undefined)
    query.set('partition', String(integerValue(spec, parsed.values, 'partition', 0, 0)));
  for (const [option, offsetName, timeName] of [
    ['from', 'from', 'fromTime'],
    ['to', 'to', 'toTime'],
  ] as const) {
    const value = stringValue(parsed.values, option);
    if (value === undefined) continue;
    if (!BOUND.test(value))
      throw new UsageError(`--${option} must be an offset or @MS, not "${value}"`, usage);
    if (value.startsWith('@')) query.set(timeName, value.slice(1));
    else query.set(offsetName, value);
  }
  const http = BrokerHttp.fromOptions(parsed.values);
  const progress = new Progress(`exporting ${topic}`);
  const response = await http.fetchOk(`${http.topicPath(topic)}/export?${query}`);
  let bytes = 0;
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    progress.update(bytes, 'bytes');
  });
  try {
    await pipeline(body, createWriteStream(out));
  } finally {
    progress.done();
  }
  console.error(`${topic} → ${out} (${bytes} bytes, Parquet)`);
  return 0;
}
