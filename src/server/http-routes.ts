import type { HttpRequest, HttpResponse, TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { validateTopicConfig } from '../common/broker-config.js';
import { ConfigError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import type { Acks, Engine } from '../engine/engine-api.js';
import { topicConfigFromKafka, topicConfigToKafka } from '../protocol/kafka/topic-config-keys.js';
import { buildRecordBatch } from '../record/batch-builder.js';
import { decodeRecordSet } from '../record/batch-reader.js';
import '../record/compression.js';
import { FrontDoorError, FrontDoorProblem, problemFromKafkaCode } from '../protocol/front-door-errors.js';
import { type JsonEncoding, recordFromJson, recordToJson } from '../protocol/record-json.js';
import type { ProducedRecord } from '../record/record.js';
import type { FrontDoorDeps } from './front-door-deps.js';
import {
  parseJson,
  queryInteger,
  type ResponseState,
  readBody,
  send,
  sendError,
  sendFailure,
  sendJson,
  watchAborted,
} from './http-io.js';
import { Partitioner } from './partitioner.js';

/**
 * The HTTP API (docs/http.md), mounted on the uWS app beside the WebSocket
 * route. Every route answers JSON errors `{"error":{"code","message"}}` with
 * the matching status; every body has a size limit; every wait is bounded by
 * the engine's own limits.
 */
const LIMIT_MAX = 100_000;

type Handler = (res: HttpResponse, state: ResponseState) => Promise<void>;

/** Runs a handler that has read everything it needs from `req` synchronously; answers whatever it throws. */
function run(res: HttpResponse, handler: Handler): void {
  const state = watchAborted(res);
  handler(res, state).catch((error: unknown) => sendFailure(res, state, error));
}

function query(req: HttpRequest): URLSearchParams {
  return new URLSearchParams(req.getQuery() ?? '');
}

function requireTopic(engine: Engine, name: string) {
  const topic = engine.describeTopic(name);
  if (topic === undefined)
    throw new FrontDoorProblem(FrontDoorError.UNKNOWN_TOPIC, `topic "${name}" does not exist`);
  return topic;
}

function parseAcks(raw: string | null): Acks {
  if (raw === null || raw === '' || raw === 'all' || raw === '-1') return -1;
  if (raw === '1') return 1;
  if (raw === '0') return 0;
  throw new FrontDoorProblem(FrontDoorError.BAD_REQUEST, 'acks must be 0, 1, -1 or all');
}

export function registerHttpRoutes(app: TemplatedApp, deps: FrontDoorDeps): void {
  const { engine, config } = deps;
  const partitioner = new Partitioner();

  app.get('/health', (res) => run(res, async (r, s) => sendJson(r, s, 200, { status: 'ok' })));

  app.get('/metrics', (res) =>
    run(res, async (r, s) => send(r, s, 200, 'text/plain; version=0.0.4; charset=utf-8', deps.metricsText())),
  );

  app.get('/topics', (res) =>
    run(res, async (r, s) =>
      sendJson(r, s, 200, {
        topics: engine.listTopics().map((topic) => ({
          name: topic.name,
          partitions: topic.partitionCount,
          config: Object.fromEntries(topicConfigToKafka(topic.config).map((e) => [e.name, e.value])),
        })),
      }),
    ),
  );

  app.post('/topics', (res, req) => {
    const contentLength = req.getHeader('content-length');
    run(res, async (r, s) => {
      const body = parseJson(await readBody(r, s, contentLength, config.maxFrameBytes));
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new FrontDoorProblem(
          FrontDoorError.BAD_REQUEST,
          'body must be {"name": …, "partitions": …, "config": {…}}',
        );
      }
      const {
        name,
        partitions = config.defaultPartitions,
        config: settings = {},
      } = body as Record<string, unknown>;
      if (typeof name !== 'string' || name.length === 0)
        throw new FrontDoorProblem(FrontDoorError.BAD_REQUEST, 'name must be a non-empty string');
      if (!Number.isInteger(partitions) || (partitions as number) < 1) {
        throw new FrontDoorProblem(FrontDoorError.BAD_REQUEST, 'partitions must be a whole number >= 1');
      }
      if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
        throw new FrontDoorProblem(
          FrontDoorError.BAD_REQUEST,
          'config must be an object of Kafka topic settings',
        );
      }
      let topicConfig: ReturnType<typeof topicConfigFromKafka>;
      try {
        topicConfig = topicConfigFromKafka(
          Object.entries(settings as Record<string, unknown>).map(([key, value]) => ({
            name: key,
            value: value === null ? null : String(value),
          })),
        );
        validateTopicConfig({ ...config.topicDefaults, ...topicConfig }, '');
      } catch (error) {
        if (error instanceof ConfigError)
          throw new FrontDoorProblem(FrontDoorError.INVALID_CONFIG, error.message);
        throw error;
      }
      const code = await engine.createTopic(name, partitions as number, topicConfig);
      if (code !== KafkaErrorCode.NONE) throw problemFromKafkaCode(code, `cannot create topic "${name}"`);
      sendJson(r, s, 201, { name, partitions });
    });
  });

  app.get('/topics/:topic', (res, req) => {
    const name = decodeURIComponent(req.getParameter(0) ?? '');
    run(res, async (r, s) => {
      const topic = requireTopic(engine, name);
      const partitions = await engine.describePartitions(name);
      if (partitions === undefined)
        throw new FrontDoorProblem(FrontDoorError.UNKNOWN_TOPIC, `topic "${name}" does not exist`);
      sendJson(r, s, 200, {
        name,
        topicId: topic.topicId,
        partitions: partitions.map((p) => ({
          partition: p.partition,
          logStartOffset: p.logStartOffset,
          logEndOffset: p.logEndOffset,
          highWatermark: p.highWatermark,
        })),
        config: Object.fromEntries(topicConfigToKafka(topic.config).map((e) => [e.name, e.value])),
      });
    });
  });

  app.del('/topics/:topic', (res, req) => {
    const name = decodeURIComponent(req.getParameter(0) ?? '');
    run(res, async (r, s) => {
      requireTopic(engine, name);
      const code = await engine.deleteTopic(name);
      if (code !== KafkaErrorCode.NONE) throw problemFromKafkaCode(code, `cannot delete topic "${name}"`);
      sendJson(r, s, 200, { deleted: name });
    });
  });

  app.post('/topics/:topic/records', (res, req) => {
    const name = decodeURIComponent(req.getParameter(0) ?? '');
    const contentType = req.getHeader('content-type');
    const contentLength = req.getHeader('content-length');
    const params = query(req);
    run(res, async (r, s) => {
      const acks = parseAcks(params.get('acks'));
      const topic = requireTopic(engine, name);
      const body = await readBody(r, s, contentLength, config.maxFrameBytes);
      const offsets: { partition: number; offset: number }[] = [];
      if (
        contentType.startsWith('application/vnd.kafka.recordbatch') ||
        contentType.startsWith('application/octet-stream')
      ) {
        const partition = queryInteger(
          params.get('partition') ?? undefined,
          'partition',
          0,
          0,
          topic.partitionCount - 1,
        );
        const outcome = await engine.produce(name, partition, body, acks);
        if (outcome.errorCode !== KafkaErrorCode.NONE) {
          throw new FrontDoorProblem(
            problemFromKafkaCode(outcome.errorCode, 'produce').kind,
            outcome.errorMessage || 'produce failed',
          );
        }
        offsets.push({ partition, offset: outcome.baseOffset });
      } else {
        const parsed = parseJson(body);
        if (!Array.isArray(parsed) || parsed.length === 0) {
          throw new FrontDoorProblem(
            FrontDoorError.BAD_REQUEST,
            'body must be a non-empty JSON array of records',
          );
        }
        // One batch per partition, in the order the records came.
        const byPartition = new Map<number, { records: ProducedRecord[]; indexes: number[] }>();
        parsed.forEach((item, index) => {
          const { record, partition: asked } = recordFromJson(item, index);
          if (asked !== undefined && asked >= topic.partitionCount) {
            throw new FrontDoorProblem(
              FrontDoorError.BAD_REQUEST,
              `record ${index}: topic has ${topic.partitionCount} partitions`,
            );
          }
          const partition = asked ?? partitioner.partitionFor(record.key, topic.partitionCount);
          const group = byPartition.get(partition) ?? { records: [], indexes: [] };
          group.records.push(record);
          group.indexes.push(index);
          byPartition.set(partition, group);
        });
        const results = new Array<{ partition: number; offset: number }>(parsed.length);
        await Promise.all(
          [...byPartition].map(async ([partition, group]) => {
            const outcome = await engine.produce(name, partition, buildRecordBatch(group.records), acks);
            if (outcome.errorCode !== KafkaErrorCode.NONE) {
              throw new FrontDoorProblem(
                problemFromKafkaCode(outcome.errorCode, 'produce').kind,
                outcome.errorMessage || 'produce failed',
              );
            }
            group.indexes.forEach((index, i) => {
              results[index] = { partition, offset: acks === 0 ? -1 : outcome.baseOffset + i };
            });
          }),
        );
        offsets.push(...results);
      }
      sendJson(r, s, 200, { offsets });
    });
  });

  app.get('/topics/:topic/partitions/:partition/records', (res, req) => {
    const name = decodeURIComponent(req.getParameter(0) ?? '');
    const partitionText = req.getParameter(1) ?? '';
    const params = query(req);
    run(res, async (r, s) => {
      const topic = requireTopic(engine, name);
      const partition = queryInteger(partitionText, 'partition', 0, 0, topic.partitionCount - 1);
      const offset = queryInteger(params.get('offset') ?? undefined, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
      const maxBytes = queryInteger(
        params.get('maxBytes') ?? undefined,
        'maxBytes',
        1024 * 1024,
        1,
        config.fetchMaxBytes,
      );
      const limit = queryInteger(params.get('limit') ?? undefined, 'limit', LIMIT_MAX, 1, LIMIT_MAX);
      const maxWaitMs = queryInteger(
        params.get('maxWaitMs') ?? undefined,
        'maxWaitMs',
        0,
        0,
        config.maxWaitMsMax,
      );
      const format = params.get('format') ?? 'json';
      if (format !== 'json' && format !== 'arrow')
        throw new FrontDoorProblem(FrontDoorError.BAD_REQUEST, 'format must be json or arrow');
      const encoding = (params.get('encoding') ?? 'utf8') as JsonEncoding;
      if (encoding !== 'utf8' && encoding !== 'base64')
        throw new FrontDoorProblem(FrontDoorError.BAD_REQUEST, 'encoding must be utf8 or base64');
      const fetched = await engine.fetch({
        partitions: [{ topic: name, partition, offset: offset as Offset, maxBytes }],
        maxWaitMs,
        minBytes: 1,
        maxBytes,
      });
      const result = fetched.partitions[0]!;
      if (result.errorCode !== KafkaErrorCode.NONE)
        throw problemFromKafkaCode(result.errorCode, `fetch ${name}-${partition}@${offset}`);
      if (format === 'arrow') {
        const ipc = await deps.encodeArrow({
          records: result.records,
          fromOffset: offset,
          limit,
          valuesAsJson: params.get('values') === 'json',
        });
        send(r, s, 200, 'application/vnd.apache.arrow.stream', ipc);
        return;
      }
      const records = [];
      for (const record of decodeRecordSet(result.records)) {
        if (record.offset < offset) continue;
        if (records.length >= limit) break;
        records.push(recordToJson(record, encoding));
      }
      const nextOffset = records.length > 0 ? records[records.length - 1]!.offset + 1 : offset;
      sendJson(r, s, 200, { records, highWatermark: result.highWatermark, nextOffset });
    });
  });

  app.any('/*', (res, req) => {
    const method = req.getMethod();
    const url = req.getUrl();
    const state = watchAborted(res);
    const knownPath =
      url === '/topics' || url.startsWith('/topics/') || url === '/health' || url === '/metrics';
    if (knownPath)
      sendError(
        res,
        state,
        FrontDoorError.METHOD_NOT_ALLOWED,
        `${method.toUpperCase()} is not allowed on ${url}`,
      );
    else sendError(res, state, FrontDoorError.NOT_FOUND, `no route for ${method.toUpperCase()} ${url}`);
  });
}
