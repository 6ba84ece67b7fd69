import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { PartitionDescription } from '../engine/engine-api.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { FrontDoorError, FrontDoorProblem, problemFromKafkaCode } from '../protocol/front-door-errors.js';
import { withDeadline } from './http-deadline.js';
import { parseJsonBody } from './http-params.js';
import type { HttpRoute } from './http-route-table.js';

/**
 * Consumer groups over HTTP, for the CLI and the console:
 *
 *   GET    /groups                   → 200 {"groups":[{"groupId","protocolType","state","members"}]}
 *   GET    /groups/:group            → 200 {"groupId","state","protocolType","protocolName",
 *                                           "members":[{"memberId","clientId","clientHost"}],
 *                                           "offsets":[{"topic","partition","committedOffset",
 *                                                       "logEndOffset","highWatermark","lag"}]}
 *   POST   /groups/:group/offsets    {"offsets":[{"topic","partition","offset"}]} → 200 {"committed":N}
 *                                    (a commit from outside any generation: refused while members are joined)
 *   DELETE /groups/:group            → 200 {"deleted":"g"}   (only a group without members)
 *
 * The coordinator is reached through `deps.groups` inside each handler, never
 * at registration, so an HTTP app without groups still mounts these routes.
 */
const GROUP_OFFSETS_MAX = 10_000;

function bad(message: string): FrontDoorProblem {
  return new FrontDoorProblem(FrontDoorError.BAD_REQUEST, message);
}

interface CommitItem {
  topic: string;
  partition: number;
  offset: number;
}

function commitItems(body: unknown): CommitItem[] {
  const offsets = (body as { offsets?: unknown } | null)?.offsets;
  if (!Array.isArray(offsets) || offsets.length === 0 || offsets.length > GROUP_OFFSETS_MAX)
    throw bad(
      `body must be {"offsets":[{"topic","partition","offset"}]} with 1 to ${GROUP_OFFSETS_MAX} entries`,
    );
  return offsets.map((item: unknown, i) => {
    const { topic, partition, offset } = (item ?? {}) as Record<string, unknown>;
    if (typeof topic !== 'string') throw bad(`offsets[${i}].topic must be a string`);
    if (typeof partition !== 'number' || !Number.isSafeInteger(partition) || partition < 0)
      throw bad(`offsets[${i}].partition must be a whole number >= 0`);
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
      throw bad(`offsets[${i}].offset must be a whole number >= 0`);
    return { topic, partition, offset };
  });
}

export function groupRoutes(deps: FrontDoorDeps): HttpRoute[] {
  const { engine, config } = deps;
  const timeoutMs = config.requestTimeoutMs;
  return [
    {
      method: 'get',
      pattern: '/groups',
      handler: async (exchange) => {
        const groups = deps.groups.listGroups().map((listed) => {
          const described = deps.groups.describeGroup(listed.groupId);
          return {
            groupId: listed.groupId,
            protocolType: listed.protocolType,
            state: described.state,
            members: described.members.length,
          };
        });
        exchange.sendJson(200, { groups });
      },
    },
    {
      method: 'get',
      pattern: '/groups/:group',
      handler: async (exchange, request) => {
        const groupId = request.parameters[0]!;
        const described = deps.groups.describeGroup(groupId);
        // Cluster mode: another broker coordinates the group (or it is loading here).
        if (described.errorCode !== KafkaErrorCode.NONE)
          throw problemFromKafkaCode(described.errorCode, `group "${groupId}"`);
        if (described.state === 'Dead')
          throw new FrontDoorProblem(FrontDoorError.UNKNOWN_GROUP, `group "${groupId}" does not exist`);
        const committed = await withDeadline(
          deps.groups.fetchOffsets({ groupId, topics: null }),
          timeoutMs,
          'offsets',
        );
        const offsets: Record<string, unknown>[] = [];
        for (const topic of committed.topics) {
          const partitions: PartitionDescription[] | undefined = engine.describeTopic(topic.topic)
            ? await withDeadline(engine.describePartitions(topic.topic), timeoutMs, 'describe')
            : undefined;
          for (const p of [...topic.partitions].sort((a, b) => a.partition - b.partition)) {
            const state = partitions?.[p.partition];
            const highWatermark = state?.highWatermark ?? null;
            offsets.push({
              topic: topic.topic,
              partition: p.partition,
              committedOffset: p.offset,
              logEndOffset: state?.logEndOffset ?? null,
              highWatermark,
              lag: highWatermark === null || p.offset < 0 ? null : Math.max(0, highWatermark - p.offset),
            });
          }
        }
        exchange.sendJson(200, {
          groupId,
          state: described.state,
          protocolType: described.protocolType,
          protocolName: described.protocolName,
          members: described.members.map((m) => ({
            memberId: m.memberId,
            clientId: m.clientId,
            clientHost: m.clientHost,
          })),
          offsets,
        });
      },
    },
    {
      method: 'post',
      pattern: '/groups/:group/offsets',
      handler: async (exchange, request) => {
        const groupId = request.parameters[0]!;
        const items = commitItems(parseJsonBody(await request.body));
        for (const item of items) {
          const topic = engine.describeTopic(item.topic);
          if (topic === undefined || item.partition >= topic.partitionCount)
            throw new FrontDoorProblem(
              FrontDoorError.UNKNOWN_TOPIC,
              `no partition ${item.topic}-${item.partition}`,
            );
        }
        const byTopic = new Map<string, { partition: number; offset: number; metadata: null }[]>();
        for (const item of items) {
          const list = byTopic.get(item.topic) ?? [];
          list.push({ partition: item.partition, offset: item.offset, metadata: null });
          byTopic.set(item.topic, list);
        }
        const result = await withDeadline(
          deps.groups.commitOffsets({
            groupId,
            generationId: -1,
            memberId: '',
            topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          }),
          timeoutMs,
          'commit',
        );
        for (const topic of result.topics) {
          for (const p of topic.partitions) {
            if (p.errorCode !== KafkaErrorCode.NONE)
              throw problemFromKafkaCode(
                p.errorCode,
                `cannot commit ${groupId} ${topic.topic}-${p.partition}`,
              );
          }
        }
        exchange.sendJson(200, { committed: items.length });
      },
    },
    {
      method: 'del',
      pattern: '/groups/:group',
      handler: async (exchange, request) => {
        const groupId = request.parameters[0]!;
        const code = await withDeadline(deps.groups.deleteGroup(groupId), timeoutMs, 'delete group');
        if (code !== KafkaErrorCode.NONE)
          throw problemFromKafkaCode(code, `cannot delete group "${groupId}"`);
        exchange.sendJson(200, { deleted: groupId });
      },
    },
  ];
}
