/**
 * The JSON shapes of etcd 3.4's gRPC gateway, and their decoding into ours.
 *
 * The gateway marshals protobuf with its original field names (snake_case),
 * omits fields holding their zero value (a PUT event has no `type`, a failed
 * transaction no `succeeded`, an empty range no `kvs`), writes 64-bit integers
 * as decimal strings and bytes as base64. Revisions stay far below 2^53, so
 * they are numbers here; lease ids use all 64 bits and stay strings.
 */

/** One key as etcd holds it. */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the transaction that created the key (0 for a key that does not exist). */
  createRevision: number;
  /** Revision of the last change to the key. */
  modRevision: number;
  version: number;
  /** The lease the key is attached to, '0' for none. */
  lease: string;
}

export interface WireKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

export interface WireHeader {
  revision?: string;
}

export function encodeBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function decodeBytes(base64: string | undefined): string {
  return base64 === undefined ? '' : Buffer.from(base64, 'base64').toString('utf8');
}

/** The end of the range holding every key that starts with `prefix` (its last byte plus one). */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let index = bytes.length - 1; index >= 0; index--) {
    if (bytes[index]! < 0xff) {
      const end = bytes.subarray(0, index + 1);
      end[index] = end[index]! + 1;
      return end.toString('base64');
    }
  }
  // A prefix of 0xff bytes only (never ours): "\0" means every key from `key` on.
  return Buffer.from([0]).toString('base64');
}

/** A decimal string (or absent: zero) as a number. */
export function wireInt(value: string | number | undefined): number {
  if (value === undefined) return 0;
  const parsed = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(parsed)) throw new Error(`etcd sent an integer out of range: ${String(value)}`);
  return parsed;
}

export function decodeKeyValue(wire: WireKeyValue): KeyValue {
  return {
    key: decodeBytes(wire.key),
    value: decodeBytes(wire.value),
    createRevision: wireInt(wire.create_revision),
    modRevision: wireInt(wire.mod_revision),
    version: wireInt(wire.version),
    lease: wire.lease ?? '0',
  };
}
