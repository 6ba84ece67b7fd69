import { withoutStackTraces } from '../../common/errors.js';
import type { Acks } from '../../engine/engine-api.js';
import { recordFromJson } from '../record-json.js';
import { ARROW_RECORDS_MAX } from './arrow-frame.js';
import { SUBSCRIBE_PARTITIONS_MAX } from './subscribe-frame.js';
import { type SubscribeFrom, type ValueEncoding, type WsRequest, WsRequestError } from './ws-request.js';

/**
 * The JSON text mode of the WebSocket protocol: one JSON object per text
 * message, with the shapes docs/websocket.md lists (json-reply.ts writes the
 * answers). Decoding checks every field and names the first one that is
 * wrong; fields it does not know are ignored.
 *
 *   {"op":"produce","id":1,"topic":"t","records":[{"key":"k","value":"v","partition":0,
 *     "headers":{"h":"x"},"encoding":"base64"?}],"acks":1}
 *   {"op":"fetch","id":2,"topic":"t","partition":0,"offset":0,"maxBytes":1048576,"maxWaitMs"?:0,
 *     "encoding"?:"base64","isolation"?:"read_committed"}
 *   {"op":"subscribe","id":3,"topic":"t","partition":0 | "partitions":[0,1],
 *     "from":"earliest"|"latest"|<offset>,"encoding"?:"base64","isolation"?:"read_committed"}
 *   {"op":"unsubscribe","id":4,"sub":3}
 *   {"op":"commit","id":5,"consumer":"c","topic":"t","partition":0,"offset":42}
 *   {"op":"offset","id":6,"consumer":"c","topic":"t","partition":0}
 *   {"op":"arrow","id":7,"topic":"t","partition":0,"offset":0,"limit"?:1000,"maxBytes"?:n,"values"?:"json"}
 */
/** A JSON request that is not one; answered BAD_REQUEST. Without a stack trace, as FrameError (binary-frame.ts). */
export class JsonRequestError extends WsRequestError {
  override name = 'JsonRequestError';
}

type Json = Record<string, unknown>;

function need<T>(
  object: Json,
  name: string,
  id: number,
  check: (value: unknown) => value is T,
  what: string,
): T {
  const value = object[name];
  if (!check(value)) throw new JsonRequestError(`"${name}" must be ${what}`, id);
  return value;
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isIndex = (value: unknown): value is number =>
  Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0x7fff_ffff;
const isOffset = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function optionalIndex(
  object: Json,
  name: string,
  id: number,
  fallback: number,
  max: number,
  min = 0,
): number {
  const value = object[name];
  if (value === undefined) return fallback;
  if (!isIndex(value) || value > max || value < min)
    throw new JsonRequestError(`"${name}" must be a whole number from ${min} to ${max}`, id);
  return value;
}

/** "isolation": "read_uncommitted" (the default, as Kafka's) or "read_committed". */
function isolationOf(object: Json, id: number): 0 | 1 {
  const isolation = object.isolation ?? 'read_uncommitted';
  if (isolation !== 'read_uncommitted' && isolation !== 'read_committed')
    throw new JsonRequestError('"isolation" must be "read_uncommitted" or "read_committed"', id);
  return isolation === 'read_committed' ? 1 : 0;
}

function encodingOf(object: Json, id: number): ValueEncoding {
  const encoding = object.encoding ?? 'utf8';
  if (encoding !== 'utf8' && encoding !== 'base64')
    throw new JsonRequestError('"encoding" must be "utf8" or "base64"', id);
  return encoding;
}

function acksOf(object: Json, id: number): Acks {
  const acks = object.acks ?? -1;
  if (acks !== 0 && acks !== 1 && acks !== -1 && acks !== 'all')
    throw new JsonRequestError('"acks" must be 0, 1, -1 or "all"', id);
  return acks === 'all' ? -1 : acks;
}

/** Parses one JSON text message; throws JsonRequestError (with the id when it was readable). */
export function decodeJsonRequest(text: string): WsRequest {
  let parsed: unknown;
  try {
    // JSON.parse's SyntaxError would capture a stack nobody reads.
    parsed = withoutStackTraces(() => JSON.parse(text));
  } catch (error) {
    throw new JsonRequestError(`message is not valid JSON: ${(error as Error).message}`, 0);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new JsonRequestError('message must be a JSON object', 0);
  const object = parsed as Json;
  const id = Number.isSafeInteger(object.id) ? (object.id as number) : 0;
  if (!Number.isSafeInteger(object.id) || id < 0)
    throw new JsonRequestError('"id" must be a whole number >= 0', 0);
  switch (object.op) {
    case 'produce': {
      const topic = need(object, 'topic', id, isString, 'a topic name');
      const records = need(
        object,
        'records',
        id,
        (v): v is unknown[] => Array.isArray(v) && v.length > 0,
        'a non-empty array',
      );
      try {
        return {
          op: 'produce',
          id,
          topic,
          acks: acksOf(object, id),
          records: records.map((item, index) => {
            const { record, partition } = recordFromJson(item, index);
            return { record, partition: partition ?? null };
          }),
          frameRecords: null,
          batch: null,
        };
      } catch (error) {
        throw new JsonRequestError((error as Error).message, id);
      }
    }
    case 'fetch':
      return {
        op: 'fetch',
        id,
        topic: need(object, 'topic', id, isString, 'a topic name'),
        partition: need(object, 'partition', id, isIndex, 'a partition number'),
        offset: need(object, 'offset', id, isOffset, 'an offset'),
        maxBytes: optionalIndex(object, 'maxBytes', id, 1024 * 1024, 2 ** 31 - 1),
        maxWaitMs: optionalIndex(object, 'maxWaitMs', id, 0, 2 ** 31 - 1),
        encoding: encodingOf(object, id),
        isolationLevel: isolationOf(object, id),
      };
    case 'subscribe': {
      const topic = need(object, 'topic', id, isString, 'a topic name');
      let partitions: number[] | null = null;
      if (object.partition !== undefined)
        partitions = [need(object, 'partition', id, isIndex, 'a partition number')];
      else if (object.partitions !== undefined) {
        partitions = need(
          object,
          'partitions',
          id,
          (v): v is number[] =>
            Array.isArray(v) &&
            v.length > 0 &&
            v.length <= SUBSCRIBE_PARTITIONS_MAX &&
            v.every(isIndex) &&
            new Set(v).size === v.length,
          `an array of 1 to ${SUBSCRIBE_PARTITIONS_MAX} distinct partition numbers`,
        );
      }
      const from = object.from ?? 'latest';
      if (from !== 'earliest' && from !== 'latest' && !isOffset(from)) {
        throw new JsonRequestError('"from" must be "earliest", "latest" or an offset', id);
      }
      return {
        op: 'subscribe',
        id,
        topic,
        partitions,
        from: from as SubscribeFrom,
        encoding: encodingOf(object, id),
        isolationLevel: isolationOf(object, id),
      };
    }
    case 'unsubscribe':
      return { op: 'unsubscribe', id, subscription: need(object, 'sub', id, isIndex, 'a subscription id') };
    case 'commit':
      return {
        op: 'commit',
        id,
        consumer: need(object, 'consumer', id, isString, 'a consumer name'),
        topic: need(object, 'topic', id, isString, 'a topic name'),
        partition: need(object, 'partition', id, isIndex, 'a partition number'),
        offset: need(object, 'offset', id, isOffset, 'an offset'),
      };
    case 'offset':
      return {
        op: 'offset',
        id,
        consumer: need(object, 'consumer', id, isString, 'a consumer name'),
        topic: need(object, 'topic', id, isString, 'a topic name'),
        partition: need(object, 'partition', id, isIndex, 'a partition number'),
      };
    case 'arrow':
      return {
        op: 'arrow',
        id,
        topic: need(object, 'topic', id, isString, 'a topic name'),
        partition: need(object, 'partition', id, isIndex, 'a partition number'),
        offset: need(object, 'offset', id, isOffset, 'an offset'),
        maxBytes: optionalIndex(object, 'maxBytes', id, 1024 * 1024, 2 ** 31 - 1),
        limit: optionalIndex(object, 'limit', id, ARROW_RECORDS_MAX, ARROW_RECORDS_MAX, 1),
        valuesAsJson: object.values === 'json',
      };
    default:
      throw new JsonRequestError(`unknown op ${JSON.stringify(object.op)}`, id);
  }
}
