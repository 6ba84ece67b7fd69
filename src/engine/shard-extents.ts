import { PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { SegmentExtent } from '../storage/segment-extents.js';
import type { ReplyWriter } from './reply-writer.js';
import {
  MessageType,
  REPLY_FLAG,
  SEGMENT_EXTENTS_MAX,
  SegmentExtentsField,
  SegmentExtentsReply,
} from './shard-message.js';
import type { ShardPartition } from './shard-partition.js';

/**
 * Answers SEGMENT_EXTENTS (shard-message.ts): where a range of a partition's
 * offsets lies in its segment files, so SQL reads the bytes itself instead of
 * through this shard. Costs the shard one index lookup and one fstat per
 * segment, however many bytes the range holds. Runs on the shard thread.
 */
export function answerSegmentExtents(
  view: DataView,
  p: number,
  correlationId: number,
  partition: ShardPartition | undefined,
  missingCode: KafkaErrorCode,
  out: ReplyWriter,
): void {
  let code: KafkaErrorCode = KafkaErrorCode.NONE;
  let extents: SegmentExtent[] | null = null;
  if (partition === undefined) {
    code = missingCode;
  } else {
    const countMax = Math.min(
      SEGMENT_EXTENTS_MAX,
      Math.floor((out.maxPayloadBytes - SegmentExtentsReply.ENTRIES) / SegmentExtentsReply.ENTRY_BYTES),
    );
    try {
      extents = partition.log.readableExtents(
        view.getFloat64(p + SegmentExtentsField.FROM_OFFSET),
        view.getFloat64(p + SegmentExtentsField.END_OFFSET),
        countMax,
      );
    } catch (error) {
      code = error instanceof PyralogError ? error.kafkaCode : KafkaErrorCode.KAFKA_STORAGE_ERROR;
    }
  }
  const count = extents?.length ?? 0;
  const r = out.claim(
    MessageType.SEGMENT_EXTENTS | REPLY_FLAG,
    correlationId,
    SegmentExtentsReply.ENTRIES + count * SegmentExtentsReply.ENTRY_BYTES,
  );
  const reply = out.view;
  reply.setInt16(r + SegmentExtentsReply.ERROR_CODE, code);
  reply.setUint16(r + SegmentExtentsReply.AVAILABLE, extents === null ? 0 : 1);
  reply.setUint32(r + SegmentExtentsReply.COUNT, count);
  for (let i = 0; i < count; i++) {
    const extent = extents![i]!;
    const e = r + SegmentExtentsReply.ENTRIES + i * SegmentExtentsReply.ENTRY_BYTES;
    reply.setFloat64(e + SegmentExtentsReply.ENTRY_BASE_OFFSET, extent.baseOffset);
    reply.setFloat64(e + SegmentExtentsReply.ENTRY_NEXT_OFFSET, extent.nextOffset);
    reply.setFloat64(e + SegmentExtentsReply.ENTRY_START_POSITION, extent.startPosition);
    reply.setFloat64(e + SegmentExtentsReply.ENTRY_END_POSITION, extent.endPosition);
    reply.setFloat64(e + SegmentExtentsReply.ENTRY_VERIFIED_BYTES, extent.verifiedBytes);
    reply.setFloat64(e + SegmentExtentsReply.ENTRY_APPENDED_FROM, extent.appendedFrom);
    reply.setFloat64(e + SegmentExtentsReply.ENTRY_DEVICE, extent.device);
    reply.setFloat64(e + SegmentExtentsReply.ENTRY_INODE, extent.inode);
    reply.setFloat64(e + SegmentExtentsReply.ENTRY_LEADER_EPOCH_MAX, extent.leaderEpochMax);
  }
}

/** The partition a SEGMENT_EXTENTS request names. */
export function extentsTarget(view: DataView, p: number): { topicId: number; partition: number } {
  return {
    topicId: view.getUint32(p + SegmentExtentsField.TOPIC_ID),
    partition: view.getUint32(p + SegmentExtentsField.PARTITION),
  };
}
