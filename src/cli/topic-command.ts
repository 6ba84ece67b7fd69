import { UsageError } from './cli-errors.js';
import {
  type CommandSpec,
  commonOptions,
  helpText,
  integerValue,
  type ParsedCommand,
  requirePositional,
  runSubcommand,
  type Subcommand,
  stringValue,
  stringValues,
} from './command-spec.js';
import { BrokerHttp } from './http-admin.js';
import { outputFormat, printOutput, renderTable } from './output.js';

/**
 * `pyralog topic`: topic administration through the broker's HTTP API
 * (docs/http.md). Settings use Kafka's names: `-c retention.ms=3600000`.
 */
interface TopicSummary {
  name: string;
  partitions: number;
  config: Record<string, string>;
}

interface TopicDetail {
  name: string;
  topicId: number;
  partitions: { partition: number; logStartOffset: number; logEndOffset: number; highWatermark: number }[];
  config: Record<string, string>;
}

const configOption = {
  config: {
    type: 'string',
    short: 'c',
    multiple: true,
    valueName: 'NAME=VALUE',
    description: 'a Kafka topic setting, e.g. retention.ms=3600000',
  },
} as const;

/** `-c a=1 -c b=2` as {"a":"1","b":"2"}; `allowReset` lets `-c a=` (or `a` alone) mean "back to the default". */
function settingsFrom(
  spec: CommandSpec,
  parsed: ParsedCommand,
  allowReset: boolean,
): Record<string, string | null> {
  const settings: Record<string, string | null> = {};
  for (const entry of stringValues(parsed.values, 'config')) {
    const eq = entry.indexOf('=');
    const name = eq === -1 ? entry : entry.slice(0, eq);
    const value = eq === -1 ? '' : entry.slice(eq + 1);
    if (name === '') throw new UsageError(`--config "${entry}" needs a NAME`, helpText(spec));
    if (value === '' && !allowReset)
      throw new UsageError(`--config ${name} needs a value: ${name}=VALUE`, helpText(spec));
    settings[name] = value === '' ? null : value;
  }
  return settings;
}

const listSpec: CommandSpec = { name: 'pyralog topic list', summary: 'list topics', options: commonOptions };
const createSpec: CommandSpec = {
  name: 'pyralog topic create',
  positionals: 'NAME',
  summary: 'create a topic',
  options: {
    partitions: {
      type: 'string',
      short: 'p',
      valueName: 'N',
      description: "partitions [the broker's default]",
    },
    'replication-factor': {
      type: 'string',
      short: 'r',
      valueName: 'N',
      description: "replicas of each partition (cluster mode) [the broker's default]",
    },
    ...configOption,
    ...commonOptions,
  },
};
const describeSpec: CommandSpec = {
  name: 'pyralog topic describe',
  positionals: 'NAME',
  summary: 'partitions (start, end, high watermark) and settings of a topic',
  options: commonOptions,
};
const alterSpec: CommandSpec = {
  name: 'pyralog topic alter-config',
  positionals: 'NAME',
  summary: 'change settings of a topic (NAME= with no value sets it back to the default)',
  options: { ...configOption, ...commonOptions },
};
const addPartitionsSpec: CommandSpec = {
  name: 'pyralog topic add-partitions',
  positionals: 'NAME',
  summary: 'raise the number of partitions of a topic',
  options: {
    num: { type: 'string', short: 'n', valueName: 'N', description: 'partitions to add' },
    total: { type: 'string', valueName: 'N', description: 'partition count to reach (instead of --num)' },
    ...commonOptions,
  },
};
const deleteSpec: CommandSpec = {
  name: 'pyralog topic delete',
  positionals: 'NAME [NAME ...]',
  summary: 'delete topics and their data',
  options: commonOptions,
};

/** A setting as `GET /topics/:topic/config` describes it. */
interface DescribedSetting {
  name: string;
  value: string;
  source: string;
  applied: boolean;
}

function configRows(configs: readonly DescribedSetting[]): string {
  return renderTable(configs, [
    { header: 'key', value: (c) => c.name },
    { header: 'value', value: (c) => c.value },
    { header: 'source', value: (c) => (c.source === 'TOPIC_CONFIG' ? 'topic' : 'default') },
    // Accepted and stored but not acted on by this broker (the HTTP view's `doc` says why).
    { header: 'applied', value: (c) => (c.applied ? 'yes' : 'no') },
  ]);
}

const subcommands: Record<string, Subcommand> = {
  list: {
    spec: listSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(listSpec));
      const { topics } = await BrokerHttp.fromOptions(parsed.values).get<{ topics: TopicSummary[] }>(
        '/topics',
      );
      printOutput(format, topics, () =>
        renderTable(topics, [
          { header: 'name', value: (t) => t.name },
          { header: 'partitions', value: (t) => t.partitions },
        ]),
      );
      return 0;
    },
  },
  create: {
    spec: createSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(createSpec));
      const name = requirePositional(createSpec, parsed, 0, 'NAME');
      const config = settingsFrom(createSpec, parsed, false);
      const partitions = stringValue(parsed.values, 'partitions');
      const body = {
        name,
        ...(partitions === undefined
          ? {}
          : { partitions: integerValue(createSpec, parsed.values, 'partitions', 1, 1) }),
        ...(stringValue(parsed.values, 'replication-factor') === undefined
          ? {}
          : {
              replicationFactor: integerValue(createSpec, parsed.values, 'replication-factor', -1, -1, 32767),
            }),
        config,
      };
      const created = await BrokerHttp.fromOptions(parsed.values).post<TopicSummary>('/topics', body);
      printOutput(format, created, () =>
        renderTable(
          [created],
          [
            { header: 'topic', value: (t) => t.name },
            { header: 'partitions', value: (t) => t.partitions },
            { header: 'status', value: () => 'created' },
          ],
        ),
      );
      return 0;
    },
  },
  describe: {
    spec: describeSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(describeSpec));
      const name = requirePositional(describeSpec, parsed, 0, 'NAME');
      const http = BrokerHttp.fromOptions(parsed.values);
      const topic = await http.get<TopicDetail>(http.topicPath(name));
      const settings =
        format === 'table'
          ? (await http.get<{ configs: DescribedSetting[] }>(`${http.topicPath(name)}/config`)).configs
          : [];
      printOutput(format, topic, () =>
        [
          `NAME        ${topic.name}`,
          `TOPIC ID    ${topic.topicId}`,
          `PARTITIONS  ${topic.partitions.length}`,
          '',
          renderTable(topic.partitions, [
            { header: 'partition', value: (p) => p.partition },
            { header: 'log-start-offset', value: (p) => p.logStartOffset },
            { header: 'log-end-offset', value: (p) => p.logEndOffset },
            { header: 'high-watermark', value: (p) => p.highWatermark },
          ]),
          '',
          configRows(settings),
        ].join('\n'),
      );
      return 0;
    },
  },
  'alter-config': {
    spec: alterSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(alterSpec));
      const name = requirePositional(alterSpec, parsed, 0, 'NAME');
      const config = settingsFrom(alterSpec, parsed, true);
      if (Object.keys(config).length === 0)
        throw new UsageError('give at least one --config NAME=VALUE', helpText(alterSpec));
      const http = BrokerHttp.fromOptions(parsed.values);
      const altered = await http.post<{ name: string; config: Record<string, string> }>(
        `${http.topicPath(name)}/config`,
        { config },
      );
      printOutput(format, altered, () =>
        renderTable(Object.entries(altered.config), [
          { header: 'key', value: ([key]) => key },
          { header: 'value', value: ([, value]) => value },
        ]),
      );
      return 0;
    },
  },
  'add-partitions': {
    spec: addPartitionsSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(addPartitionsSpec));
      const name = requirePositional(addPartitionsSpec, parsed, 0, 'NAME');
      const hasNum = stringValue(parsed.values, 'num') !== undefined;
      const hasTotal = stringValue(parsed.values, 'total') !== undefined;
      if (hasNum === hasTotal)
        throw new UsageError('give either --num N or --total N', helpText(addPartitionsSpec));
      const http = BrokerHttp.fromOptions(parsed.values);
      let total = integerValue(addPartitionsSpec, parsed.values, 'total', 0, 2);
      if (hasNum) {
        const current = await http.get<TopicDetail>(http.topicPath(name));
        total = current.partitions.length + integerValue(addPartitionsSpec, parsed.values, 'num', 0, 1);
      }
      const grown = await http.post<{ name: string; partitions: number }>(
        `${http.topicPath(name)}/partitions`,
        {
          partitions: total,
        },
      );
      printOutput(format, grown, () =>
        renderTable(
          [grown],
          [
            { header: 'topic', value: (t) => t.name },
            { header: 'partitions', value: (t) => t.partitions },
          ],
        ),
      );
      return 0;
    },
  },
  delete: {
    spec: deleteSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(deleteSpec));
      requirePositional(deleteSpec, parsed, 0, 'NAME');
      const http = BrokerHttp.fromOptions(parsed.values);
      const deleted: string[] = [];
      for (const name of parsed.positionals) {
        await http.delete(http.topicPath(name));
        deleted.push(name);
      }
      printOutput(format, { deleted }, () =>
        renderTable(deleted, [
          { header: 'topic', value: (name) => name },
          { header: 'status', value: () => 'deleted' },
        ]),
      );
      return 0;
    },
  },
};

export function topicCommand(argv: readonly string[]): Promise<number> {
  return runSubcommand(
    'pyralog topic',
    'Create, list, describe, alter and delete topics.',
    subcommands,
    argv,
  );
}
