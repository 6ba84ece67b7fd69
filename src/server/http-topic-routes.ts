import { defaultReplicationFactor, type TopicConfig, validateTopicConfig } from '../common/broker-config.js';
import { ConfigError, PyralogError } from '../common/errors.js';
import { KafkaErrorCode, kafkaErrorName } from '../common/kafka-error-code.js';
import type { Engine, TopicDescription } from '../engine/engine-api.js';
import { PARTITIONS_PER_TOPIC_MAX } from '../engine/shard-message.js';
import { topicNameProblem } from '../engine/topic-registry.js';
import { deleteClusterTopic } from '../protocol/cluster-topic-deletion.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { FrontDoorError, FrontDoorProblem, problemFromKafkaCode } from '../protocol/front-door-errors.js';
import {
  type TopicConfigKey,
  topicConfigFromKafka,
  topicConfigKeys,
  topicConfigToKafka,
} from '../protocol/kafka/topic-config-keys.js';
import { AclOperation, AclResourceType } from '../security/acl.js';
import { principalText } from '../security/principal.js';
import { withDeadline } from './http-deadline.js';
import { parseJsonBody } from './http-params.js';
import type { HttpRoute } from './http-route-table.js';

/**
 * Topic administration over HTTP: list, create (Kafka-style settings),
 * describe with each partition's offsets, delete.
 *
 *   GET    /topics          → 200 {"topics":[{"name","partitions","config"}]} (those the principal
 *                             may Describe)
 *   POST   /topics          {"name":"t","partitions":3,"config":{"retention.ms":"60000"}}
 *                           → 201 {"name","partitions","config"}
 *   GET    /topics/:topic   → 200 {"name","topicId","partitions":[{"partition","logStartOffset",
 *                                  "logEndOffset","highWatermark"}],"config"}
 *   DELETE /topics/:topic   → 200 {"deleted":"t"}
 */
export function settingsOf(config: TopicConfig): Record<string, string> {
  return Object.fromEntries(topicConfigToKafka(config).map((entry) => [entry.name, entry.value]));
}

export function requireTopic(engine: Engine, name: string): TopicDescription {
  const topic = engine.describeTopic(name);
  if (topic === undefined)
    throw new FrontDoorProblem(FrontDoorError.UNKNOWN_TOPIC, `topic "${name}" does not exist`);
  return topic;
}

function bad(message: string): FrontDoorProblem {
  return new FrontDoorProblem(FrontDoorError.BAD_REQUEST, message);
}

/**
 * Kafka-style settings (`{"retention.ms": 60000}` or `"60000"`) as a validated partial TopicConfig,
 * checked as a whole on top of `base`. A `null` value means "back to the broker default" and takes
 * its value from `defaults`.
 */
export function topicSettings(
  raw: unknown,
  base: TopicConfig,
  defaults: TopicConfig = base,
): Partial<TopicConfig> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw bad('config must be an object of Kafka topic settings, e.g. {"retention.ms": "60000"}');
  const entries: { name: string; value: string | null }[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value !== null && typeof value !== 'string' && typeof value !== 'number') {
      throw new FrontDoorProblem(FrontDoorError.INVALID_CONFIG, `${name}: must be a string or a number`);
    }
    entries.push({ name, value: value === null ? null : String(value) });
  }
  try {
    const settings: Record<string, unknown> = { ...topicConfigFromKafka(entries) };
    for (const { name, value } of entries) {
      const field = topicConfigKeys[name as TopicConfigKey];
      if (value === null && field !== undefined) settings[field] = defaults[field];
    }
    validateTopicConfig({ ...base, ...settings }, '');
    return settings as Partial<TopicConfig>;
  } catch (error) {
    if (error instanceof ConfigError)
      throw new FrontDoorProblem(FrontDoorError.INVALID_CONFIG, error.message);
    throw error;
  }
}

export function topicRoutes(deps: FrontDoorDeps): HttpRoute[] {
  const { engine, config } = deps;
  const timeoutMs = config.requestTimeoutMs;
  return [
    {
      method: 'get',
      pattern: '/topics',
      handler: async (exchange, request) => {
        // Topics the principal may not describe are left out, as Metadata leaves them out (unaudited).
        const access = deps.access;
        const principal = principalText(request.principal);
        const visible =
          access === undefined || access.allowsEverything
            ? engine.listTopics()
            : engine
                .listTopics()
                .filter((topic) =>
                  access.allows(
                    principal,
                    request.clientHost,
                    AclOperation.DESCRIBE,
                    AclResourceType.TOPIC,
                    topic.name,
                  ),
                );
        const topics = visible.map((topic) => ({
          name: topic.name,
          partitions: topic.partitionCount,
          config: settingsOf(topic.config),
        }));
        exchange.sendJson(200, { topics });
      },
    },
    {
      method: 'post',
      pattern: '/topics',
      handler: async (exchange, request) => {
        const body = parseJsonBody(await request.body);
        if (body === null || typeof body !== 'object' || Array.isArray(body))
          throw bad('body must be {"name": "t", "partitions": 3, "config": {…}}');
        const fields = body as Record<string, unknown>;
        const name = fields.name;
        if (typeof name !== 'string') throw bad('name must be a string');
        const nameProblem = topicNameProblem(name);
        if (nameProblem !== null) throw bad(nameProblem);
        const partitions = fields.partitions ?? config.defaultPartitions;
        if (
          typeof partitions !== 'number' ||
          !Number.isSafeInteger(partitions) ||
          partitions < 1 ||
          partitions >= PARTITIONS_PER_TOPIC_MAX
        ) {
          throw bad(`partitions must be a whole number from 1 to ${PARTITIONS_PER_TOPIC_MAX - 1}`);
        }
        const settings = topicSettings(fields.config, config.topicDefaults);
        const replicationFactor = fields.replicationFactor ?? -1;
        if (
          typeof replicationFactor !== 'number' ||
          !Number.isSafeInteger(replicationFactor) ||
          (replicationFactor < 1 && replicationFactor !== -1)
        ) {
          throw bad('replicationFactor must be -1 (the default) or a whole number of at least 1');
        }
        const cluster = deps.cluster;
        if (cluster !== undefined) {
          // Cluster mode: created in etcd with its replicas placed (docs/cluster.md); Kafka-named settings.
          const kafkaSettings: Record<string, string> = {};
          for (const [key, value] of Object.entries((fields.config ?? {}) as Record<string, unknown>)) {
            if (value !== null) kafkaSettings[key] = String(value);
          }
          try {
            const created = await withDeadline(
              cluster.createTopic({
                name,
                partitionCount: partitions,
                replicationFactor:
                  replicationFactor === -1 ? defaultReplicationFactor(config, true) : replicationFactor,
                config: kafkaSettings,
              }),
              timeoutMs,
              'create',
            );
            exchange.sendJson(201, {
              name,
              partitions,
              replicationFactor: created.replicationFactor,
              config: settingsOf({ ...config.topicDefaults, ...settings }),
            });
          } catch (error) {
            if (error instanceof PyralogError) throw problemFromKafkaCode(error.kafkaCode, error.message);
            throw error;
          }
          return;
        }
        if (replicationFactor > 1) {
          throw problemFromKafkaCode(
            KafkaErrorCode.INVALID_REPLICATION_FACTOR,
            'this broker keeps one replica of each partition (no --etcd)',
          );
        }
        const code = await withDeadline(engine.createTopic(name, partitions, settings), timeoutMs, 'create');
        if (code !== KafkaErrorCode.NONE) throw problemFromKafkaCode(code, `cannot create topic "${name}"`);
        const created = engine.describeTopic(name);
        exchange.sendJson(201, {
          name,
          partitions,
          config: settingsOf(created?.config ?? { ...config.topicDefaults, ...settings }),
        });
      },
    },
    {
      method: 'get',
      pattern: '/topics/:topic',
      handler: async (exchange, request) => {
        const name = request.parameters[0]!;
        const topic = requireTopic(engine, name);
        const partitions = await withDeadline(engine.describePartitions(name), timeoutMs, 'describe');
        // The topic may have been deleted while the shards were asked.
        if (partitions === undefined)
          throw new FrontDoorProblem(FrontDoorError.UNKNOWN_TOPIC, `topic "${name}" does not exist`);
        exchange.sendJson(200, {
          name,
          topicId: topic.topicId,
          partitions: partitions.map((p) => ({
            partition: p.partition,
            logStartOffset: p.logStartOffset,
            logEndOffset: p.logEndOffset,
            highWatermark: p.highWatermark,
            // Only for a partition not served (offline after a storage failure).
            ...(p.errorCode === undefined || p.errorCode === KafkaErrorCode.NONE
              ? {}
              : { error: kafkaErrorName(p.errorCode) }),
          })),
          config: settingsOf(topic.config),
        });
      },
    },
    {
      method: 'del',
      pattern: '/topics/:topic',
      handler: async (exchange, request) => {
        const name = request.parameters[0]!;
        if (deps.cluster?.topic(name) !== undefined) {
          // Cluster mode: deleted from etcd; every replica's broker removes its replicas from its watch.
          const deleted = await withDeadline(deleteClusterTopic(deps.cluster, name), timeoutMs, 'delete');
          if (deleted.errorCode !== KafkaErrorCode.NONE) {
            throw problemFromKafkaCode(
              deleted.errorCode,
              `cannot delete topic "${name}": ${deleted.errorMessage}`,
            );
          }
          exchange.sendJson(200, { deleted: name });
          return;
        }
        requireTopic(engine, name);
        if (deps.cluster !== undefined) {
          throw problemFromKafkaCode(
            KafkaErrorCode.POLICY_VIOLATION,
            'only topics in etcd are deleted in cluster mode; this one is local to one broker',
          );
        }
        const code = await withDeadline(engine.deleteTopic(name), timeoutMs, 'delete');
        if (code !== KafkaErrorCode.NONE) throw problemFromKafkaCode(code, `cannot delete topic "${name}"`);
        exchange.sendJson(200, { deleted: name });
      },
    },
  ];
}
