import { ClientInputError } from '../../common/errors.js';
import type { Acks } from '../../engine/engine-api.js';
import type { ProducedRecord } from '../../record/record.js';

/**
 * A WebSocket request that breaks its protocol (a binary frame or a JSON
 * message); the server answers BAD_REQUEST with `id`, the request id when it
 * was readable (0 otherwise). No stack trace (ClientInputError).
 */
export class WsRequestError extends ClientInputError {
  constructor(
    message: string,
    readonly id: number,
  ) {
    super(message);
  }
}

/**
 * A WebSocket request after decoding, whichever mode (binary or JSON) it came
 * in. The session (src/server/ws-session.ts) serves these; the codecs turn
 * frames into them and replies back into frames.
 *
 * Byte fields (keys, values, a ready batch) may be views into the message:
 * uWS frees a message when its callback returns, so the session copies what
 * it keeps before it first waits.
 */
export type SubscribeFrom = 'earliest' | 'latest' | number;

/** How JSON replies carry keys, values and header values. */
export type ValueEncoding = 'utf8' | 'base64';

/** A binary PRODUCE's records, still in their frame, checked by readProduceRequest (produce-frame.ts). */
export interface FrameRecords {
  bytes: Uint8Array;
  /** Position of the first record in `bytes`. */
  start: number;
  count: number;
  /** The partition of every record; null: the broker picks per record by key. */
  partition: number | null;
}

/** Exactly one of records, frameRecords and batch is set. */
export interface ProduceRequest {
  op: 'produce';
  id: number;
  topic: string;
  acks: Acks;
  /** JSON mode: records, each with its own partition (null: the broker picks by key). */
  records: { record: ProducedRecord; partition: number | null }[] | null;
  /** Binary mode: records as they are in the frame. */
  frameRecords: FrameRecords | null;
  /** A ready RecordBatch v2 for `partition`. */
  batch: { bytes: Uint8Array; partition: number } | null;
}

export interface FetchRequest {
  op: 'fetch';
  id: number;
  topic: string;
  partition: number;
  offset: number;
  maxBytes: number;
  maxWaitMs: number;
  encoding: ValueEncoding;
  /** 1: read_committed (only below the last stable offset, aborted data left out); 0 by default. */
  isolationLevel: 0 | 1;
}

export interface SubscribeRequest {
  op: 'subscribe';
  id: number;
  topic: string;
  /** null: every partition of the topic. */
  partitions: number[] | null;
  from: SubscribeFrom;
  encoding: ValueEncoding;
  /** 1: read_committed (only below the last stable offset, aborted data left out); 0 by default. */
  isolationLevel: 0 | 1;
}

export interface UnsubscribeRequest {
  op: 'unsubscribe';
  id: number;
  subscription: number;
}

export interface CommitRequest {
  op: 'commit';
  id: number;
  consumer: string;
  topic: string;
  partition: number;
  offset: number;
}

export interface OffsetRequest {
  op: 'offset';
  id: number;
  consumer: string;
  topic: string;
  partition: number;
}

export interface ArrowRequest {
  op: 'arrow';
  id: number;
  topic: string;
  partition: number;
  offset: number;
  maxBytes: number;
  limit: number;
  valuesAsJson: boolean;
}

export type WsRequest =
  | ProduceRequest
  | FetchRequest
  | SubscribeRequest
  | UnsubscribeRequest
  | CommitRequest
  | OffsetRequest
  | ArrowRequest;

export type WsOp = WsRequest['op'];

/** Where each record of a produce request landed, in request order. */
export interface ProducedOffset {
  partition: number;
  /** -1 with acks 0. */
  offset: number;
}
