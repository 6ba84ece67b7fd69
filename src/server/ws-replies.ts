import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { RecordWindowInput, RecordWindowResult } from '../engine/offload-task.js';
import { decodeRecordSet } from '../record/batch-reader.js';
import '../record/compression.js';
import { encodeArrowReply } from '../protocol/ws/arrow-frame.js';
import { WsOpCode } from '../protocol/ws/binary-frame.js';
import { encodeOffsetReply } from '../protocol/ws/consumer-offset-frame.js';
import { nextOffsetAfter, recordsHead } from '../protocol/ws/fetch-frame.js';
import {
  arrowJson,
  errorJson,
  offsetJson,
  okJson,
  producedJson,
  recordsJson,
  subscribedJson,
} from '../protocol/ws/json-reply.js';
import { encodeProduced, type ProducedGroup } from '../protocol/ws/produce-frame.js';
import { encodeError, encodeOk } from '../protocol/ws/status-frame.js';
import { encodeSubscribed, type SubscriptionStart } from '../protocol/ws/subscribe-frame.js';
import type { WsErrorKind } from '../protocol/ws/ws-error-code.js';
import type { ProducedOffset, ValueEncoding } from '../protocol/ws/ws-request.js';
import { anyCompressedBatch, decodablePrefix } from './http-record-window.js';

/**
 * Replies and pushes in either WebSocket mode. A reply goes out in the mode
 * its request came in; a subscription's pushes in the mode of its subscribe.
 * Binary frames carry fetched RecordBatch bytes as the engine returned them
 * (no re-encoding, no copy on our side); JSON decodes them into records from
 * the asked-for offset on: plain batches here, compressed ones in the offload
 * pool (`decodeCompressed`), so inflating never runs on the acceptor. The
 * callers await each records reply before the next of the same request or
 * subscription, so pushes keep their order.
 */
export type WsMode = 'binary' | 'json';

/**
 * The connection as the session sees it (ws-route.ts wraps a uWS socket in this). Messages are
 * written at the end of the turn (ws-outbox.ts): a buffer passed in must not be changed afterwards.
 */
export interface WsSocket {
  send(message: Uint8Array | string, isBinary: boolean): void;
  /** One binary message made of a small head and a large body, sent as two fragments without joining them. */
  sendInTwo(head: Uint8Array, body: Uint8Array): void;
  /** Bytes queued for the client and not yet written to the network. */
  bufferedAmount(): number;
  end(code: number, reason: string): void;
}

/** Decodes compressed batches into records off the acceptor (the offload pool, with a deadline). */
export type DecodeCompressedRecords = (input: RecordWindowInput) => Promise<RecordWindowResult>;

export class WsReplies {
  constructor(
    private readonly socket: WsSocket,
    /** Null only in tests without a pool: compressed batches then decode in place. */
    private readonly decodeCompressed: DecodeCompressedRecords | null = null,
  ) {}

  produced(mode: WsMode, id: number, groups: readonly ProducedGroup[], slots: Int32Array | null): void {
    if (mode === 'binary') {
      this.socket.send(encodeProduced(id, groups, slots), true);
      return;
    }
    const offsets: ProducedOffset[] = [];
    const next = groups.map(() => 0);
    const count = slots?.length ?? groups[0]!.recordCount;
    for (let i = 0; i < count; i++) {
      const slot = slots === null ? 0 : slots[i]!;
      const group = groups[slot]!;
      offsets.push({
        partition: group.partition,
        offset: group.baseOffset < 0 ? -1 : group.baseOffset + next[slot]!,
      });
      next[slot]!++;
    }
    this.socket.send(producedJson(id, offsets), false);
  }

  /**
   * A FETCHED reply or a RECORDS push; returns the offset after the last
   * record sent (`fromOffset` when there were none), as a promise when
   * compressed batches are decoded off the acceptor first. JSON decoding may
   * throw (or reject with) a PyralogError for a batch it cannot open (an
   * unsupported codec).
   */
  records(
    mode: WsMode,
    op: typeof WsOpCode.FETCHED | typeof WsOpCode.RECORDS,
    id: number,
    partition: number,
    highWatermark: number,
    fromOffset: number,
    batches: Uint8Array,
    encoding: ValueEncoding,
  ): number | Promise<number> {
    const nextOffset = nextOffsetAfter(batches, fromOffset);
    if (mode === 'binary') {
      const head = recordsHead(op, id, partition, highWatermark, nextOffset);
      if (batches.length === 0) this.socket.send(head, true);
      else this.socket.sendInTwo(head, batches);
      return nextOffset;
    }
    const head = op === WsOpCode.FETCHED ? { id, ok: true as const } : { sub: id };
    if (this.decodeCompressed !== null && anyCompressedBatch(batches)) {
      return this.compressedRecords(
        head,
        partition,
        highWatermark,
        fromOffset,
        nextOffset,
        batches,
        encoding,
      );
    }
    const records = decodeRecordSet(batches);
    this.socket.send(
      recordsJson(head, partition, records, fromOffset, highWatermark, nextOffset, encoding),
      false,
    );
    return nextOffset;
  }

  private async compressedRecords(
    head: { id: number; ok: true } | { sub: number },
    partition: number,
    highWatermark: number,
    fromOffset: number,
    nextOffset: number,
    batches: Uint8Array,
    encoding: ValueEncoding,
  ): Promise<number> {
    const decodable = decodablePrefix(batches, fromOffset);
    if (decodable.blocked !== null) {
      // As the in-place decoder does: a batch this build cannot open fails the reply, before any work is sent.
      throw new PyralogError(
        KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `records from offset ${decodable.blocked.baseOffset} are compressed with ${decodable.blocked.codecName}, which this broker cannot decode`,
      );
    }
    // A compact copy: the pool's structured clone would copy a view's whole buffer.
    const window = await this.decodeCompressed!({
      records: batches.slice(),
      fromOffset,
      limit: Number.MAX_SAFE_INTEGER,
    });
    this.socket.send(
      recordsJson(head, partition, window.records, fromOffset, highWatermark, nextOffset, encoding),
      false,
    );
    return nextOffset;
  }

  subscribed(mode: WsMode, id: number, starts: readonly SubscriptionStart[]): void {
    if (mode === 'json') this.socket.send(subscribedJson(id, starts), false);
    else this.socket.send(encodeSubscribed(id, starts), true);
  }

  ok(mode: WsMode, id: number): void {
    if (mode === 'json') this.socket.send(okJson(id), false);
    else this.socket.send(encodeOk(id), true);
  }

  offset(mode: WsMode, id: number, offset: number): void {
    if (mode === 'json') this.socket.send(offsetJson(id, offset), false);
    else this.socket.send(encodeOffsetReply(id, offset), true);
  }

  arrow(mode: WsMode, id: number, ipc: Uint8Array): void {
    if (mode === 'json') this.socket.send(arrowJson(id, ipc), false);
    else this.socket.send(encodeArrowReply(id, ipc), true);
  }

  error(mode: WsMode, id: number, kind: WsErrorKind, message: string): void {
    if (mode === 'json') this.socket.send(errorJson(id, kind.code, message), false);
    else this.socket.send(encodeError(id, kind.code, message), true);
  }
}
