import type { Acks } from '../../engine/engine-api.js';
import type { ProducedRecord } from '../../record/record.js';

/**
 * A WebSocket request after decoding, whichever mode (binary or JSON) it came
 * in. The session (src/server/ws-session.ts) serves these; the codecs turn
 * frames into them and replies back into frames.
 */
export type SubscribeFrom = 'earliest' | 'latest' | number;

export type WsRequest =
  | {
      op: 'produce';
      id: number;
      topic: string;
      acks: Acks;
      /** Records, each with its partition (null: the broker picks by key, else round robin). */
      records: { record: ProducedRecord; partition: number | null }[] | null;
      /** Or a ready RecordBatch v2 for `partition`. */
      batch: { bytes: Uint8Array; partition: number } | null;
    }
  | {
      op: 'fetch';
      id: number;
      topic: string;
      partition: number;
      offset: number;
      maxBytes: number;
      maxWaitMs: number;
    }
  | { op: 'subscribe'; id: number; topic: string; partitions: number[] | null; from: SubscribeFrom }
  | { op: 'unsubscribe'; id: number; subscription: number }
  | { op: 'commit'; id: number; consumer: string; topic: string; partition: number; offset: number }
  | { op: 'offset'; id: number; consumer: string; topic: string; partition: number }
  | {
      op: 'arrow';
      id: number;
      topic: string;
      partition: number;
      offset: number;
      maxBytes: number;
      limit: number;
      valuesAsJson: boolean;
    };

export type WsOp = WsRequest['op'];
