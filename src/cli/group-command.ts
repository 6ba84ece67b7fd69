import { UsageError } from './cli-errors.js';
import {
  type CommandSpec,
  commonOptions,
  helpText,
  integerValue,
  requirePositional,
  runSubcommand,
  type Subcommand,
  stringValue,
} from './command-spec.js';
import { BrokerHttp } from './http-admin.js';
import { outputFormat, printOutput, renderTable } from './output.js';

/** `pyralog group`: consumer groups, their members and lag, through the broker's HTTP API. */
interface GroupSummary {
  groupId: string;
  protocolType: string;
  state: string;
  members: number;
}

interface GroupOffset {
  topic: string;
  partition: number;
  committedOffset: number;
  logEndOffset: number | null;
  highWatermark: number | null;
  lag: number | null;
}

interface GroupDetail {
  groupId: string;
  state: string;
  protocolType: string;
  protocolName: string;
  members: { memberId: string; clientId: string; clientHost: string }[];
  offsets: GroupOffset[];
}

const listSpec: CommandSpec = {
  name: 'pyralog group list',
  summary: 'list consumer groups',
  options: commonOptions,
};
const describeSpec: CommandSpec = {
  name: 'pyralog group describe',
  positionals: 'GROUP',
  summary: 'state, members, and committed offset and lag per partition',
  options: commonOptions,
};
const resetSpec: CommandSpec = {
  name: 'pyralog group reset-offsets',
  positionals: 'GROUP',
  summary: "move a group's committed offsets for a topic (the group must have no members)",
  options: {
    topic: {
      type: 'string',
      short: 't',
      valueName: 'TOPIC',
      description: 'topic whose offsets move (required)',
    },
    partition: { type: 'string', short: 'p', valueName: 'P', description: 'only this partition [all]' },
    to: {
      type: 'string',
      valueName: 'start|end|N|@MS',
      description: 'log start, high watermark, offset N, or the first record at or after time MS (required)',
    },
    'dry-run': { type: 'boolean', description: 'show the new offsets without committing them' },
    ...commonOptions,
  },
};
const deleteSpec: CommandSpec = {
  name: 'pyralog group delete',
  positionals: 'GROUP [GROUP ...]',
  summary: 'delete groups without members, with their committed offsets',
  options: commonOptions,
};

function groupPath(groupId: string): string {
  return `/groups/${encodeURIComponent(groupId)}`;
}

const subcommands: Record<string, Subcommand> = {
  list: {
    spec: listSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(listSpec));
      const { groups } = await BrokerHttp.fromOptions(parsed.values).get<{ groups: GroupSummary[] }>(
        '/groups',
      );
      printOutput(format, groups, () =>
        renderTable(groups, [
          { header: 'group', value: (g) => g.groupId },
          { header: 'state', value: (g) => g.state },
          { header: 'members', value: (g) => g.members },
          { header: 'protocol-type', value: (g) => g.protocolType },
        ]),
      );
      return 0;
    },
  },
  describe: {
    spec: describeSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(describeSpec));
      const groupId = requirePositional(describeSpec, parsed, 0, 'GROUP');
      const group = await BrokerHttp.fromOptions(parsed.values).get<GroupDetail>(groupPath(groupId));
      const totalLag = group.offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0);
      printOutput(format, { ...group, totalLag }, () =>
        [
          `GROUP       ${group.groupId}`,
          `STATE       ${group.state}`,
          `MEMBERS     ${group.members.length}`,
          `TOTAL-LAG   ${totalLag}`,
          '',
          renderTable(group.offsets, [
            { header: 'topic', value: (o) => o.topic },
            { header: 'partition', value: (o) => o.partition },
            { header: 'committed-offset', value: (o) => o.committedOffset },
            { header: 'high-watermark', value: (o) => o.highWatermark },
            { header: 'lag', value: (o) => o.lag },
          ]),
          ...(group.members.length === 0
            ? []
            : [
                '',
                renderTable(group.members, [
                  { header: 'member', value: (m) => m.memberId },
                  { header: 'client-id', value: (m) => m.clientId },
                  { header: 'host', value: (m) => m.clientHost },
                ]),
              ]),
        ].join('\n'),
      );
      return 0;
    },
  },
  'reset-offsets': {
    spec: resetSpec,
    async run(parsed) {
      const usage = helpText(resetSpec);
      const format = outputFormat(stringValue(parsed.values, 'format'), usage);
      const groupId = requirePositional(resetSpec, parsed, 0, 'GROUP');
      const topic = stringValue(parsed.values, 'topic');
      const to = stringValue(parsed.values, 'to');
      if (topic === undefined) throw new UsageError('--topic is required', usage);
      if (to === undefined || !/^(start|end|\d{1,16}|@\d{1,16})$/.test(to))
        throw new UsageError('--to must be start, end, a whole number or @MS', usage);
      const http = BrokerHttp.fromOptions(parsed.values);
      const described = await http.get<{
        partitions: { partition: number; logStartOffset: number; highWatermark: number }[];
      }>(http.topicPath(topic));
      const only =
        stringValue(parsed.values, 'partition') === undefined
          ? null
          : integerValue(resetSpec, parsed.values, 'partition', 0, 0);
      const partitions = described.partitions.filter((p) => only === null || p.partition === only);
      if (partitions.length === 0) throw new UsageError(`topic ${topic} has no partition ${only}`, usage);
      const offsets: { topic: string; partition: number; offset: number }[] = [];
      for (const p of partitions) {
        let offset: number;
        if (to === 'start') offset = p.logStartOffset;
        else if (to === 'end') offset = p.highWatermark;
        else if (to.startsWith('@')) {
          const found = await http.get<{ offset: number }>(
            `${http.topicPath(topic)}/partitions/${p.partition}/offsets?timestamp=${to.slice(1)}`,
          );
          offset = found.offset < 0 ? p.highWatermark : found.offset;
        } else offset = Math.min(Math.max(Number(to), p.logStartOffset), p.highWatermark);
        offsets.push({ topic, partition: p.partition, offset });
      }
      const dryRun = parsed.values['dry-run'] === true;
      if (!dryRun) await http.post(`${groupPath(groupId)}/offsets`, { offsets });
      printOutput(format, { groupId, dryRun, offsets }, () =>
        renderTable(offsets, [
          { header: 'topic', value: (o) => o.topic },
          { header: 'partition', value: (o) => o.partition },
          { header: 'new-offset', value: (o) => o.offset },
          { header: 'status', value: () => (dryRun ? 'dry run' : 'committed') },
        ]),
      );
      return 0;
    },
  },
  delete: {
    spec: deleteSpec,
    async run(parsed) {
      const format = outputFormat(stringValue(parsed.values, 'format'), helpText(deleteSpec));
      requirePositional(deleteSpec, parsed, 0, 'GROUP');
      const http = BrokerHttp.fromOptions(parsed.values);
      const deleted: string[] = [];
      for (const groupId of parsed.positionals) {
        await http.delete(groupPath(groupId));
        deleted.push(groupId);
      }
      printOutput(format, { deleted }, () =>
        renderTable(deleted, [
          { header: 'group', value: (g) => g },
          { header: 'status', value: () => 'deleted' },
        ]),
      );
      return 0;
    },
  },
};

export function groupCommand(argv: readonly string[]): Promise<number> {
  return runSubcommand(
    'pyralog group',
    'Consumer groups: list, describe with lag, reset offsets, delete.',
    subcommands,
    argv,
  );
}
