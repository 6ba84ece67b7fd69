import { errorMessage } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Acks, ProduceOutcome } from '../engine/engine-api.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { FrontDoorError, FrontDoorProblem, problemFromKafkaCode } from '../protocol/front-door-errors.js';
import { recordFromJson } from '../protocol/record-json.js';
import { buildRecordBatch } from '../record/batch-builder.js';
import type { ProducedRecord } from '../record/record.js';
import { withDeadline } from './http-deadline.js';
import { DetailedProblem, type HttpExchange } from './http-exchange.js';
import { batchRuns } from './http-json-batches.js';
import { acksParameter, integerParameter, parseJsonBody } from './http-params.js';
import type { HttpRequestParts, HttpRoute } from './http-route-table.js';
import { requireTopic } from './http-topic-routes.js';
import { Partitioner } from './partitioner.js';

/**
 * POST /topics/:topic/records[?acks=all|1|0]
 *
 * Body, either:
 * - JSON (any content type but the two below): a non-empty array of
 *   `{"key","value","headers"?,"partition"?,"timestamp"?,"encoding"?}`. A record
 *   without a partition goes where Kafka's default partitioner would put it
 *   (murmur2 of the key) or round robin when it has no key. Records for one
 *   partition keep their order and become one or more RecordBatches of at most
 *   the topic's max.message.bytes.
 * - one ready RecordBatch v2 (`application/vnd.kafka.recordbatch` or
 *   `application/octet-stream`) for `?partition=N` (default 0), stored as is.
 *
 * Answer: 200 {"offsets":[{"partition":0,"offset":41},…]}, one per record in
 * body order (one per batch for a RecordBatch body); offsets are -1 with acks=0.
 * If some partitions fail, the error names the first failure and `offsets`
 * beside it holds what was written (null for records that were not).
 */
interface PartitionOffset {
  partition: number;
  offset: number;
}

const BINARY_TYPES = new Set(['application/vnd.kafka.recordbatch', 'application/octet-stream']);

function produceProblem(outcome: ProduceOutcome, partition: number): FrontDoorProblem {
  const kind = problemFromKafkaCode(outcome.errorCode, '').kind;
  const detail =
    outcome.errorMessage === ''
      ? problemFromKafkaCode(outcome.errorCode, 'produce').message
      : outcome.errorMessage;
  return new FrontDoorProblem(kind, `partition ${partition}: ${detail}`);
}

function tooLarge(partition: number, sizeBytes: number, limitBytes: number): FrontDoorProblem {
  return new FrontDoorProblem(
    FrontDoorError.TOO_LARGE,
    `partition ${partition}: a batch of ${sizeBytes} bytes exceeds max.message.bytes (${limitBytes})`,
  );
}

export function produceRoute(deps: FrontDoorDeps): HttpRoute {
  const { engine, config } = deps;
  const partitioner = new Partitioner();
  const timeoutMs = config.requestTimeoutMs;

  async function produceBinary(exchange: HttpExchange, request: HttpRequestParts, name: string, acks: Acks) {
    const topic = requireTopic(engine, name);
    const partition = integerParameter(
      request.query.get('partition'),
      'partition',
      0,
      0,
      topic.partitionCount - 1,
    );
    const batch = await request.body;
    const batchBytesMax = Math.min(topic.config.maxMessageBytes, config.maxRequestBytes);
    if (batch.length > batchBytesMax) throw tooLarge(partition, batch.length, batchBytesMax);
    const outcome = await withDeadline(engine.produce(name, partition, batch, acks), timeoutMs, 'produce');
    if (outcome.errorCode !== KafkaErrorCode.NONE) throw produceProblem(outcome, partition);
    exchange.sendJson(200, { offsets: [{ partition, offset: acks === 0 ? -1 : outcome.baseOffset }] });
  }

  /** Appends one partition's records, batch by batch in order, writing each record's offset into `results`. */
  async function producePartition(
    name: string,
    partition: number,
    records: readonly ProducedRecord[],
    indexes: readonly number[],
    batchBytesMax: number,
    acks: Acks,
    results: (PartitionOffset | null)[],
  ): Promise<void> {
    for (const [start, end] of batchRuns(records, batchBytesMax)) {
      const batch = buildRecordBatch(records.slice(start, end));
      if (batch.length > batchBytesMax) throw tooLarge(partition, batch.length, batchBytesMax);
      const outcome = await withDeadline(engine.produce(name, partition, batch, acks), timeoutMs, 'produce');
      if (outcome.errorCode !== KafkaErrorCode.NONE) throw produceProblem(outcome, partition);
      for (let i = start; i < end; i++) {
        results[indexes[i]!] = { partition, offset: acks === 0 ? -1 : outcome.baseOffset + (i - start) };
      }
    }
  }

  async function produceJson(exchange: HttpExchange, request: HttpRequestParts, name: string, acks: Acks) {
    const topic = requireTopic(engine, name);
    const parsed = parseJsonBody(await request.body);
    if (!Array.isArray(parsed) || parsed.length === 0) {
      throw new FrontDoorProblem(
        FrontDoorError.BAD_REQUEST,
        'body must be a non-empty JSON array of {"key","value","headers","partition"?} records',
      );
    }
    const byPartition = new Map<number, { records: ProducedRecord[]; indexes: number[] }>();
    for (let index = 0; index < parsed.length; index++) {
      const { record, partition: asked } = recordFromJson(parsed[index], index);
      if (asked !== undefined && asked >= topic.partitionCount) {
        throw new FrontDoorProblem(
          FrontDoorError.BAD_REQUEST,
          `record ${index}: partition ${asked} does not exist (topic has ${topic.partitionCount})`,
        );
      }
      const partition = asked ?? partitioner.partitionFor(record.key, topic.partitionCount);
      let group = byPartition.get(partition);
      if (group === undefined) {
        group = { records: [], indexes: [] };
        byPartition.set(partition, group);
      }
      group.records.push(record);
      group.indexes.push(index);
    }
    const batchBytesMax = Math.min(topic.config.maxMessageBytes, config.maxRequestBytes);
    const results = new Array<PartitionOffset | null>(parsed.length).fill(null);
    // Partitions are written side by side; each waits for all so a failure reports what was written.
    const settled = await Promise.allSettled(
      [...byPartition].map(([partition, group]) =>
        producePartition(name, partition, group.records, group.indexes, batchBytesMax, acks, results),
      ),
    );
    const failure = settled.find((outcome) => outcome.status === 'rejected');
    if (failure !== undefined) {
      const reason: unknown = failure.reason;
      const kind = reason instanceof FrontDoorProblem ? reason.kind : FrontDoorError.INTERNAL;
      const message = errorMessage(reason);
      throw new DetailedProblem(kind, message, { offsets: results });
    }
    exchange.sendJson(200, { offsets: results });
  }

  return {
    method: 'post',
    pattern: '/topics/:topic/records',
    handler: async (exchange, request) => {
      const name = request.parameters[0]!;
      const acks = acksParameter(request.query.get('acks'));
      if (BINARY_TYPES.has(request.mediaType)) await produceBinary(exchange, request, name, acks);
      else await produceJson(exchange, request, name, acks);
    },
  };
}
