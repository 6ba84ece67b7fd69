import type { Acks } from '../../engine/engine-api.js';
import { recordFromJson } from '../record-json.js';
import type { SubscribeFrom, WsRequest } from './ws-request.js';

/**
 * The JSON text mode of the WebSocket protocol: one JSON object per text
 * message, with the shapes docs/websocket.md lists. Decoding checks every
 * field and names the first one that is wrong.
 */
export class JsonRequestError extends Error {
  constructor(
    message: string,
    readonly id: number,
  ) {
    super(message);
    this.name = 'JsonRequestError';
  }
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
const isIndex = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;
const isOffset = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function optionalIndex(object: Json, name: string, id: number, fallback: number, max: number): number {
  const value = object[name];
  if (value === undefined) return fallback;
  if (!isIndex(value) || value > max)
    throw new JsonRequestError(`"${name}" must be a whole number from 0 to ${max}`, id);
  return value;
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
    parsed = JSON.parse(text);
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
          (v): v is number[] => Array.isArray(v) && v.every(isIndex),
          'an array of partition numbers',
        );
      }
      const from = object.from ?? 'latest';
      if (from !== 'earliest' && from !== 'latest' && !isOffset(from)) {
        throw new JsonRequestError('"from" must be "earliest", "latest" or an offset', id);
      }
      return { op: 'subscribe', id, topic, partitions, from: from as SubscribeFrom };
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
        limit: optionalIndex(object, 'limit', id, 100_000, 100_000),
        valuesAsJson: object.values === 'json',
      };
    default:
      throw new JsonRequestError(`unknown op ${JSON.stringify(object.op)}`, id);
  }
}
