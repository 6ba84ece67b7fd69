import type { ConsumedRecord } from '../../record/record.js';
import { type JsonRecordOut, recordToJson } from '../record-json.js';
import type { SubscriptionStart } from './subscribe-frame.js';
import type { ProducedOffset, ValueEncoding } from './ws-request.js';

/**
 * The JSON text mode's replies and pushes, one JSON object per text message
 * (json-request.ts lists the requests):
 *
 *   produce      {"id":1,"ok":true,"offsets":[{"partition":0,"offset":41}]}     one per record, in order
 *   fetch        {"id":2,"ok":true,"partition":0,"records":[{"offset":0,"timestamp":1700000000000,
 *                  "key":"k","value":"v","headers":{"h":"x"}}],"highWatermark":42,"nextOffset":1}
 *   subscribe    {"id":3,"ok":true,"sub":3,"offsets":[{"partition":0,"offset":0}]}   where pushes start
 *   push         {"sub":3,"partition":0,"records":[…],"highWatermark":42,"nextOffset":42}
 *   unsubscribe, commit   {"id":4,"ok":true}
 *   offset       {"id":6,"ok":true,"offset":42}            -1: nothing committed
 *   arrow        {"id":7,"ok":true,"arrow":"<base64 Arrow IPC stream>"}
 *   error        {"id":2,"ok":false,"error":{"code":"UNKNOWN_TOPIC","message":"…"}}
 *
 * Keys, values and header values are UTF-8 text; when the request asked for
 * "encoding":"base64" they are base64 and the reply says "encoding":"base64".
 */
export function producedJson(id: number, offsets: readonly ProducedOffset[]): string {
  return JSON.stringify({ id, ok: true, offsets });
}

/** Records from `fromOffset` on, out of whole batches that may start below it. */
export function recordsJson(
  head: { id: number; ok: true } | { sub: number },
  partition: number,
  records: readonly ConsumedRecord[],
  fromOffset: number,
  highWatermark: number,
  nextOffset: number,
  encoding: ValueEncoding,
): string {
  const out: JsonRecordOut[] = [];
  for (const record of records) if (record.offset >= fromOffset) out.push(recordToJson(record, encoding));
  const body: Record<string, unknown> = { ...head, partition, records: out, highWatermark, nextOffset };
  if (encoding === 'base64') body.encoding = 'base64';
  return JSON.stringify(body);
}

export function subscribedJson(id: number, starts: readonly SubscriptionStart[]): string {
  return JSON.stringify({ id, ok: true, sub: id, offsets: starts });
}

export function okJson(id: number): string {
  return JSON.stringify({ id, ok: true });
}

export function offsetJson(id: number, offset: number): string {
  return JSON.stringify({ id, ok: true, offset });
}

export function arrowJson(id: number, ipc: Uint8Array): string {
  return JSON.stringify({
    id,
    ok: true,
    arrow: Buffer.from(ipc.buffer, ipc.byteOffset, ipc.length).toString('base64'),
  });
}

export function errorJson(id: number, code: string, message: string): string {
  return JSON.stringify({ id, ok: false, error: { code, message } });
}
