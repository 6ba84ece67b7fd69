import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import { FrontDoorError, FrontDoorProblem, problemFromKafkaCode } from '../protocol/front-door-errors.js';
import { type JsonRecordOut, recordToJson } from '../protocol/record-json.js';
import { maskAbortedBatches } from '../record/aborted-batches.js';
import '../record/compression.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { withDeadline } from './http-deadline.js';
import {
  type ClampedInteger,
  choiceParameter,
  clampedIntegerParameter,
  integerParameter,
} from './http-params.js';
import { anyCompressedBatch, decodablePrefix, recordWindow } from './http-record-window.js';
import type { HttpRoute } from './http-route-table.js';
import { requireTopic } from './http-topic-routes.js';

/**
 * GET /topics/:topic/partitions/:partition/records
 *     ?offset=0&maxBytes=1048576&limit=&maxWaitMs=0&encoding=utf8|base64
 *     &format=json|arrow&values=json&isolation=read_uncommitted|read_committed
 *
 * JSON: 200 {"records":[{"offset","timestamp","key","value","headers"}],
 *            "highWatermark":N,"nextOffset":N}
 * Arrow: 200 application/vnd.apache.arrow.stream (schema in arrow-export.ts),
 *        encoded in the offload pool; `values=json` adds typed columns.
 *
 * The engine answers whole batches, the first of which may start before
 * `offset`; records before it are skipped, and at most `limit` are returned.
 * `maxWaitMs` (up to the broker's max-wait-ms-max) holds the request until a
 * record arrives, for long polling. A `maxBytes` over the broker's
 * fetch-max-bytes, or a `limit` over LIMIT_MAX, is lowered to it (as Kafka
 * lowers a fetch size), and the `x-pyralog-clamped` header says so.
 * Transaction markers are never records; `isolation=read_committed` reads
 * only below the last stable offset and leaves out the records of aborted
 * transactions (aborted-batches.ts), as a Kafka consumer with
 * isolation.level=read_committed does.
 */
export const LIMIT_MAX = 100_000;
export const MAX_BYTES_DEFAULT = 1024 * 1024;
export const ARROW_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

export function readRoute(deps: FrontDoorDeps): HttpRoute {
  const { engine, config } = deps;
  return {
    method: 'get',
    pattern: '/topics/:topic/partitions/:partition/records',
    handler: async (exchange, request) => {
      const [name, partitionText] = request.parameters as [string, string];
      const query = request.query;
      const topic = requireTopic(engine, name);
      const partition = /^\d{1,9}$/.test(partitionText) ? Number(partitionText) : -1;
      if (partition < 0 || partition >= topic.partitionCount) {
        throw new FrontDoorProblem(
          FrontDoorError.NOT_FOUND,
          `topic "${name}" has partitions 0 to ${topic.partitionCount - 1}, not "${partitionText.slice(0, 40)}"`,
        );
      }
      const offset = integerParameter(query.get('offset'), 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
      const maxBytesAsked = clampedIntegerParameter(
        query.get('maxBytes'),
        'maxBytes',
        Math.min(MAX_BYTES_DEFAULT, config.fetchMaxBytes),
        1,
        config.fetchMaxBytes,
      );
      const limitAsked = clampedIntegerParameter(query.get('limit'), 'limit', LIMIT_MAX, 1, LIMIT_MAX);
      const maxBytes = maxBytesAsked.value;
      const limit = limitAsked.value;
      const headers = clampedHeaders(maxBytesAsked, limitAsked);
      const maxWaitMs = integerParameter(query.get('maxWaitMs'), 'maxWaitMs', 0, 0, config.maxWaitMsMax);
      const format = choiceParameter(query.get('format'), 'format', ['json', 'arrow'], 'json');
      const encoding = choiceParameter(query.get('encoding'), 'encoding', ['utf8', 'base64'], 'utf8');
      const values = choiceParameter(query.get('values'), 'values', ['bytes', 'json'], 'bytes');
      if (values === 'json' && format !== 'arrow')
        throw new FrontDoorProblem(FrontDoorError.BAD_REQUEST, 'values=json applies to format=arrow');
      const isolation = choiceParameter(
        query.get('isolation'),
        'isolation',
        ['read_uncommitted', 'read_committed'],
        'read_uncommitted',
      );
      const isolationLevel = isolation === 'read_committed' ? 1 : 0;

      const fetched = await withDeadline(
        engine.fetch({
          isolationLevel,
          partitions: [{ topic: name, partition, offset: offset as Offset, maxBytes }],
          maxWaitMs,
          minBytes: 1,
          maxBytes,
        }),
        maxWaitMs + config.requestTimeoutMs,
        'fetch',
      );
      const result = fetched.partitions[0]!;
      if (result.errorCode !== KafkaErrorCode.NONE)
        throw problemFromKafkaCode(result.errorCode, `fetch ${name}-${partition} at offset ${offset}`);
      const highWatermark = String(result.highWatermark);
      const visible =
        isolationLevel === 1
          ? maskAbortedBatches(result.records, result.abortedTransactions)
          : result.records;
      const decodable = decodablePrefix(visible, offset);
      if (decodable.blocked !== null && decodable.endOffset <= offset) {
        const { baseOffset, codecName } = decodable.blocked;
        throw new FrontDoorProblem(
          FrontDoorError.INVALID_RECORDS,
          `records from offset ${baseOffset} are compressed with ${codecName}, which this broker stores but ` +
            'cannot decode; read them with a Kafka client',
        );
      }

      if (format === 'arrow') {
        const ipc = await withDeadline(
          deps.encodeArrow({
            // A compact copy when the view is part of a larger buffer: the pool's structured clone
            // copies a view's whole buffer.
            records:
              decodable.bytes.byteLength === decodable.bytes.buffer.byteLength
                ? decodable.bytes
                : decodable.bytes.slice(),
            fromOffset: offset,
            limit,
            valuesAsJson: values === 'json',
          }),
          config.requestTimeoutMs,
          'Arrow encoding',
        );
        exchange.send(200, ARROW_CONTENT_TYPE, ipc, [
          ['x-pyralog-high-watermark', highWatermark],
          ...headers,
        ]);
        return;
      }
      // Compressed batches are inflated in the offload pool, never on the acceptor; plain ones decode here.
      const window = anyCompressedBatch(decodable.bytes)
        ? await withDeadline(
            deps.decodeRecordWindow({ records: decodable.bytes.slice(), fromOffset: offset, limit }),
            config.requestTimeoutMs,
            'decoding compressed records',
          )
        : recordWindow(decodable.bytes, offset, limit);
      const records: JsonRecordOut[] = window.records.map((record) => recordToJson(record, encoding));
      exchange.sendJson(
        200,
        { records, highWatermark: result.highWatermark, nextOffset: window.nextOffset },
        headers,
      );
    },
  };
}

/** Names the response header that lists the read parameters lowered to the broker's limits. */
export const CLAMPED_HEADER = 'x-pyralog-clamped';

/**
 * `x-pyralog-clamped: maxBytes=8388608, limit=100000`: each parameter that
 * asked for more than the broker allows, with the value the read used.
 * Absent when nothing was lowered.
 */
function clampedHeaders(maxBytes: ClampedInteger, limit: ClampedInteger): [string, string][] {
  const parts: string[] = [];
  if (maxBytes.clamped) parts.push(`maxBytes=${maxBytes.value}`);
  if (limit.clamped) parts.push(`limit=${limit.value}`);
  return parts.length === 0 ? [] : [[CLAMPED_HEADER, parts.join(', ')]];
}
