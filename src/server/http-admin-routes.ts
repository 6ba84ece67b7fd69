import { KafkaErrorCode } from '../common/kafka-error-code.js';
import { describeTopicConfig } from '../common/topic-config-table.js';
import { ListOffsetsTimestamp } from '../engine/engine-api.js';
import { PARTITIONS_PER_TOPIC_MAX } from '../engine/shard-message.js';
import { addClusterPartitions } from '../protocol/cluster-partitions.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { FrontDoorError, FrontDoorProblem, problemFromKafkaCode } from '../protocol/front-door-errors.js';
import { applyTopicConfig } from '../protocol/topic-config-apply.js';
import { withDeadline } from './http-deadline.js';
import { parseJsonBody } from './http-params.js';
import type { HttpRoute } from './http-route-table.js';
import { requireTopic, settingsOf, topicSettings } from './http-topic-routes.js';

/**
 * Administration beyond create and delete, for the CLI and the console:
 *
 *   POST /topics/:topic/config       {"config":{"retention.ms":"60000","segment.ms":null}}
 *                                    → 200 {"name","config"}   (null: back to the broker default)
 *   GET  /topics/:topic/config       → 200 {"name","configs":[{"name","value","source","defaultValue",
 *                                      "doc","type","applied","readOnly","sensitive"}]}
 *                                    (applied false: accepted and stored, not acted on; doc says why)
 *   POST /topics/:topic/partitions   {"partitions":6} → 200 {"name","partitions"}   (grow only)
 *   GET  /topics/:topic/partitions/:p/offsets?timestamp=ms|earliest|latest
 *                                    → 200 {"partition","offset","timestamp"}   (offset -1: none at or after)
 *   GET  /cluster                    → 200 {"clusterId","controller","brokers":[…],"shards","topics","partitions"}
 */
function bad(message: string): FrontDoorProblem {
  return new FrontDoorProblem(FrontDoorError.BAD_REQUEST, message);
}

function objectBody(body: unknown, shape: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad(`body must be ${shape}`);
  return body as Record<string, unknown>;
}

export function adminRoutes(deps: FrontDoorDeps): HttpRoute[] {
  const { engine, config } = deps;
  const timeoutMs = config.requestTimeoutMs;
  return [
    {
      method: 'get',
      pattern: '/topics/:topic/config',
      handler: async (exchange, request) => {
        const name = request.parameters[0]!;
        const topic = requireTopic(engine, name);
        exchange.sendJson(200, { name, configs: describeTopicConfig(topic.config, config.topicDefaults) });
      },
    },
    {
      method: 'post',
      pattern: '/topics/:topic/config',
      handler: async (exchange, request) => {
        const name = request.parameters[0]!;
        const topic = requireTopic(engine, name);
        const fields = objectBody(parseJsonBody(await request.body), '{"config": {"retention.ms": "60000"}}');
        const settings = topicSettings(fields.config, topic.config, config.topicDefaults);
        const applied = await withDeadline(
          applyTopicConfig(
            engine,
            deps.cluster,
            name,
            { ...topic.config, ...settings },
            // topicSettings accepted the body: `config` is an object of settings (null: back to the default).
            Object.entries((fields.config ?? {}) as Record<string, unknown>).map(([setting, value]) => ({
              name: setting,
              reset: value === null,
            })),
            true,
          ),
          timeoutMs,
          'alter config',
        );
        if (applied.errorCode !== KafkaErrorCode.NONE) {
          throw problemFromKafkaCode(
            applied.errorCode,
            `cannot alter topic "${name}"${applied.errorMessage === null ? '' : `: ${applied.errorMessage}`}`,
          );
        }
        exchange.sendJson(200, { name, config: settingsOf(requireTopic(engine, name).config) });
      },
    },
    {
      method: 'post',
      pattern: '/topics/:topic/partitions',
      handler: async (exchange, request) => {
        const name = request.parameters[0]!;
        // Cluster mode: a topic in etcd is grown there, whether this broker holds a replica of it or not.
        const clusterTopic = deps.cluster?.topic(name);
        const topic = clusterTopic ?? requireTopic(engine, name);
        const fields = objectBody(parseJsonBody(await request.body), '{"partitions": N}');
        const partitions = fields.partitions;
        if (
          typeof partitions !== 'number' ||
          !Number.isSafeInteger(partitions) ||
          partitions <= topic.partitionCount ||
          partitions >= PARTITIONS_PER_TOPIC_MAX
        ) {
          throw new FrontDoorProblem(
            FrontDoorError.INVALID_CONFIG,
            `partitions must be a whole number above the current ${topic.partitionCount} and below ${PARTITIONS_PER_TOPIC_MAX}`,
          );
        }
        if (clusterTopic !== undefined) {
          const grown = await withDeadline(
            addClusterPartitions(deps.cluster!, name, partitions),
            timeoutMs,
            'add partitions',
          );
          if (grown.errorCode !== KafkaErrorCode.NONE) {
            throw problemFromKafkaCode(
              grown.errorCode,
              `cannot add partitions to "${name}": ${grown.errorMessage}`,
            );
          }
          exchange.sendJson(200, { name, partitions });
          return;
        }
        const code = await withDeadline(engine.addPartitions(name, partitions), timeoutMs, 'add partitions');
        if (code !== KafkaErrorCode.NONE)
          throw problemFromKafkaCode(code, `cannot add partitions to "${name}"`);
        exchange.sendJson(200, { name, partitions });
      },
    },
    {
      method: 'get',
      pattern: '/topics/:topic/partitions/:partition/offsets',
      handler: async (exchange, request) => {
        const [name, partitionText] = request.parameters as [string, string];
        const topic = requireTopic(engine, name);
        const partition = /^\d{1,9}$/.test(partitionText) ? Number(partitionText) : -1;
        if (partition < 0 || partition >= topic.partitionCount) {
          throw new FrontDoorProblem(
            FrontDoorError.NOT_FOUND,
            `topic "${name}" has partitions 0 to ${topic.partitionCount - 1}, not "${partitionText.slice(0, 40)}"`,
          );
        }
        const raw = request.query.get('timestamp') ?? 'latest';
        let timestampMs: number;
        if (raw === 'earliest') timestampMs = ListOffsetsTimestamp.EARLIEST;
        else if (raw === 'latest') timestampMs = ListOffsetsTimestamp.LATEST;
        else if (/^\d{1,16}$/.test(raw)) timestampMs = Number(raw);
        else throw bad('timestamp must be earliest, latest or milliseconds since the epoch');
        const found = await withDeadline(
          engine.listOffsets(name, partition, timestampMs),
          timeoutMs,
          'offsets',
        );
        if (found.errorCode !== KafkaErrorCode.NONE)
          throw problemFromKafkaCode(found.errorCode, `offsets of ${name}-${partition}`);
        exchange.sendJson(200, { partition, offset: found.offset, timestamp: found.timestampMs });
      },
    },
    {
      method: 'get',
      pattern: '/cluster',
      handler: async (exchange) => {
        const topics = engine.listTopics();
        // Cluster mode: the live brokers and the controller as etcd has them.
        const cluster = deps.cluster;
        exchange.sendJson(200, {
          clusterId: cluster === undefined ? 'pyralog' : config.clusterName,
          controller: cluster === undefined ? config.nodeId : cluster.controllerId(),
          brokers:
            cluster === undefined
              ? [
                  {
                    nodeId: config.nodeId,
                    host: config.advertisedHost,
                    kafkaPort: config.advertisedPort,
                    self: true,
                  },
                ]
              : cluster.liveBrokerEndpoints().map((broker) => ({
                  nodeId: broker.brokerId,
                  host: broker.host,
                  kafkaPort: broker.port,
                  self: broker.brokerId === config.nodeId,
                })),
          shards: config.shardCount,
          fsync: typeof config.fsync === 'object' ? `${config.fsync.intervalMs}ms` : config.fsync,
          topics: topics.length,
          partitions: topics.reduce((sum, topic) => sum + topic.partitionCount, 0),
          uptimeMs: Math.round(process.uptime() * 1000),
          node: process.version,
        });
      },
    },
  ];
}
