import { UsageError } from './cli-errors.js';
import {
  type CommandSpec,
  commonOptions,
  helpText,
  integerValue,
  parseCommand,
  requirePositional,
  stringValue,
} from './command-spec.js';
import { BrokerHttp } from './http-admin.js';
import { outputFormat, renderYaml } from './output.js';
import { compileTemplate, TemplateError, type TemplateRecord } from './record-template.js';

/**
 * `pyralog consume`: reads every partition of a topic (or one) through the
 * broker's HTTP API, from a start point per partition, up to the high
 * watermarks seen at the start, or on and on with --follow. With --group it
 * starts where the group left off and commits what it has printed.
 */
const spec: CommandSpec = {
  name: 'pyralog consume',
  positionals: 'TOPIC',
  summary: 'read records from all partitions of a topic (or one)',
  options: {
    partition: { type: 'string', short: 'p', valueName: 'P', description: 'read only partition P' },
    offset: {
      type: 'string',
      short: 'o',
      valueName: 'start|end|N|@MS',
      description:
        'where to start in each partition: first, end, offset N, or the first record at or after time MS [start]',
    },
    follow: { type: 'boolean', short: 'f', description: 'keep waiting for new records until interrupted' },
    group: {
      type: 'string',
      short: 'g',
      valueName: 'GROUP',
      description: "start at the group's committed offsets (else --offset) and commit what was printed",
    },
    num: { type: 'string', short: 'n', valueName: 'N', description: 'stop after N records' },
    fmt: {
      type: 'string',
      short: 'F',
      valueName: 'TEMPLATE',
      description: 'kcat-like template: %t %p %o %T %k %s %K %S %h, \\n \\t',
    },
    ...commonOptions,
  },
  details: `Output: one JSON object per record and line by default (also --format json), YAML with --format yaml,
or the --fmt template, e.g. --fmt '%p@%o %k=%s\\n'.`,
};

interface FetchedRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

interface PartitionCursor {
  partition: number;
  next: number;
  /** Where a non-following read stops: the high watermark seen at the start. */
  stopAt: number;
}

const FOLLOW_POLL_MS = 500;
const FETCH_BYTES = 1024 * 1024;

async function startOffset(
  http: BrokerHttp,
  topic: string,
  partition: number,
  where: string,
  p: {
    logStartOffset: number;
    highWatermark: number;
  },
): Promise<number> {
  if (where === 'start') return p.logStartOffset;
  if (where === 'end') return p.highWatermark;
  if (where.startsWith('@')) {
    const found = await http.get<{ offset: number }>(
      `${http.topicPath(topic)}/partitions/${partition}/offsets?timestamp=${where.slice(1)}`,
    );
    return found.offset < 0 ? p.highWatermark : found.offset;
  }
  return Math.min(Math.max(Number(where), p.logStartOffset), p.highWatermark);
}

export async function consumeCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (parsed === null) return 0;
  const usage = helpText(spec);
  const format = outputFormat(stringValue(parsed.values, 'format') ?? 'json', usage);
  const topic = requirePositional(spec, parsed, 0, 'TOPIC');
  const where = stringValue(parsed.values, 'offset') ?? 'start';
  if (!/^(start|end|\d{1,16}|@\d{1,16})$/.test(where))
    throw new UsageError(`--offset must be start, end, a whole number or @MS, not "${where}"`, usage);
  const follow = parsed.values.follow === true;
  const group = stringValue(parsed.values, 'group');
  const limit = integerValue(spec, parsed.values, 'num', Number.POSITIVE_INFINITY, 1);
  const templateText = stringValue(parsed.values, 'fmt');
  let template: ((record: TemplateRecord) => string) | null = null;
  try {
    template = templateText === undefined ? null : compileTemplate(templateText);
  } catch (error) {
    if (error instanceof TemplateError) throw new UsageError(`--fmt: ${error.message}`, usage);
    throw error;
  }
  const http = BrokerHttp.fromOptions(parsed.values);
  const described = await http.get<{
    partitions: { partition: number; logStartOffset: number; highWatermark: number }[];
  }>(http.topicPath(topic));
  const onlyPartition = stringValue(parsed.values, 'partition');
  const wanted =
    onlyPartition === undefined
      ? described.partitions
      : described.partitions.filter(
          (p) => p.partition === integerValue(spec, parsed.values, 'partition', 0, 0),
        );
  if (wanted.length === 0) throw new UsageError(`topic ${topic} has no partition ${onlyPartition}`, usage);

  const committed = new Map<number, number>();
  if (group !== undefined) {
    try {
      const state = await http.get<{
        offsets: { topic: string; partition: number; committedOffset: number }[];
      }>(`/groups/${encodeURIComponent(group)}`);
      for (const o of state.offsets)
        if (o.topic === topic && o.committedOffset >= 0) committed.set(o.partition, o.committedOffset);
    } catch (error) {
      // A group that has never committed starts from --offset.
      if (!(error instanceof Error && error.message.startsWith('UNKNOWN_GROUP'))) throw error;
    }
  }
  const cursors: PartitionCursor[] = [];
  for (const p of wanted) {
    const next = committed.get(p.partition) ?? (await startOffset(http, topic, p.partition, where, p));
    cursors.push({ partition: p.partition, next, stopAt: p.highWatermark });
  }

  let printed = 0;
  const emit = (partition: number, record: FetchedRecord): void => {
    const full: TemplateRecord = { topic, partition, ...record };
    if (template !== null) process.stdout.write(template(full));
    else if (format === 'yaml') process.stdout.write(`${renderYaml([full])}\n`);
    else process.stdout.write(`${JSON.stringify(full)}\n`);
  };
  for (;;) {
    let progressed = false;
    for (const cursor of cursors) {
      if (printed >= limit) return 0;
      if (!follow && cursor.next >= cursor.stopAt) continue;
      const fetched = await http.get<{ records: FetchedRecord[]; highWatermark: number; nextOffset: number }>(
        `${http.topicPath(topic)}/partitions/${cursor.partition}/records?offset=${cursor.next}&maxBytes=${FETCH_BYTES}`,
      );
      const before = cursor.next;
      for (const record of fetched.records) {
        if (record.offset < cursor.next || (!follow && record.offset >= cursor.stopAt)) continue;
        emit(cursor.partition, record);
        cursor.next = record.offset + 1;
        if (++printed >= limit) break;
      }
      if (cursor.next === before && fetched.nextOffset > cursor.next) cursor.next = fetched.nextOffset;
      if (cursor.next !== before) {
        progressed = true;
        if (group !== undefined) {
          await http.post(`/groups/${encodeURIComponent(group)}/offsets`, {
            offsets: [{ topic, partition: cursor.partition, offset: cursor.next }],
          });
        }
      }
    }
    if (printed >= limit) return 0;
    if (!follow && cursors.every((c) => c.next >= c.stopAt)) return 0;
    if (!progressed) await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
  }
}
