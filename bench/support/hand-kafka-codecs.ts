import type { KafkaReader, KafkaWriter } from '../../src/protocol/kafka/primitives.js';

/**
 * The hand-written Produce and Fetch codecs as they were before the codecs
 * were generated from message descriptions (commit c0af59a), kept only as the
 * baseline of bench/kafka-described.bench.ts: the generated codecs must not
 * be slower than these.
 */
export function handDecodeProduce(reader: KafkaReader): unknown {
  return {
    transactionalId: reader.nullableString(),
    acks: reader.int16(),
    timeoutMs: reader.int32(),
    topics: reader.array((r) => ({
      name: r.string(),
      partitions: r.array((p) => ({ index: p.int32(), records: p.nullableBytes() })),
    })),
  };
}

export interface HandFetchResponse {
  topics: {
    topic: string;
    partitions: {
      partition: number;
      errorCode: number;
      highWatermark: number;
      lastStableOffset: number;
      logStartOffset: number;
      records: Uint8Array;
    }[];
  }[];
}

/** Fetch v11 response. */
export function handEncodeFetch(writer: KafkaWriter, response: HandFetchResponse): void {
  writer.int32(0);
  writer.int16(0).int32(0);
  writer.array(response.topics, (w, topic) => {
    w.string(topic.topic);
    w.array(topic.partitions, (pw, p) => {
      pw.int32(p.partition).int16(p.errorCode).int64(p.highWatermark).int64(p.lastStableOffset);
      pw.int64(p.logStartOffset);
      pw.int32(-1);
      pw.int32(-1);
      pw.bytesView(p.records);
    });
  });
}

/** Fetch v11 request. */
export function handDecodeFetch(reader: KafkaReader): unknown {
  reader.int32();
  const maxWaitMs = reader.int32();
  const minBytes = reader.int32();
  const maxBytes = reader.int32();
  reader.int8();
  reader.int32();
  reader.int32();
  const topics = reader.array((r) => ({
    topic: r.string(),
    partitions: r.array((p) => {
      const partition = p.int32();
      p.int32();
      const fetchOffset = p.int64();
      p.int64();
      return { partition, fetchOffset, partitionMaxBytes: p.int32() };
    }),
  }));
  reader.array((r) => {
    r.string();
    r.array((p) => p.int32());
    return null;
  });
  reader.string();
  return { maxWaitMs, minBytes, maxBytes, topics };
}
