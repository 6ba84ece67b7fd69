import { bench, do_not_optimize } from 'mitata';
import { type FetchResponseData, fetch as fetchApi } from '../src/protocol/kafka/fetch.js';
import { messageCodec } from '../src/protocol/kafka/message/message-codec.js';
import { concatChunks, KafkaReader, KafkaWriter } from '../src/protocol/kafka/primitives.js';
import { produce as produceApi, produceRequestDescription } from '../src/protocol/kafka/produce.js';
import { buildRecordBatch } from '../src/record/batch-builder.js';
import { handDecodeFetch, handDecodeProduce, handEncodeFetch } from './support/hand-kafka-codecs.js';
import { runWithRatios } from './support/mitata-ratios.js';

/**
 * `npm run bench -- kafka-described`: the Produce request decoder and the
 * Fetch response encoder generated from the message descriptions, against the
 * hand-written codecs they replaced (bench/support/hand-kafka-codecs.ts), in
 * the same run: Produce v7 and v9 (flexible) requests of 8 partitions × 16 KiB
 * batches, Fetch v11 and v12 responses of 8 partitions × 16 KiB records sent
 * as views, and the Fetch v11 request. Ratio: hand time / generated time
 * (1.00 = as fast; above 1 is faster).
 *
 * `-- --interleaved` measures the same pairs as CPU time (process.cpuUsage)
 * in 15 interleaved rounds of 20,000 operations each and prints the medians:
 * less disturbed by other processes than mitata's wall-clock runs on a
 * loaded machine.
 */
const PARTITIONS = 8;

function bodyOf(write: (w: KafkaWriter) => void): Uint8Array {
  const writer = new KafkaWriter();
  write(writer);
  return concatChunks(writer.finish());
}

export async function run(args: readonly string[] = []): Promise<void> {
  const batch = buildRecordBatch(
    Array.from({ length: 16 }, (_, i) => ({ key: null, value: new Uint8Array(1000).fill(i) })),
  );
  const partitions = Array.from({ length: PARTITIONS }, (_, index) => index);
  const produceRequest = {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30_000,
    topics: [{ name: 'ingest', partitions: partitions.map((index) => ({ index, records: batch })) }],
  };
  // The request side of the same description: what a client sends.
  const requestCodec = messageCodec<typeof produceRequest>(produceRequestDescription);
  const produceV7 = bodyOf((w) => requestCodec.encode(w, produceRequest, 7));
  const produceV9 = bodyOf((w) => requestCodec.encode(w, produceRequest, 9));
  const fetchV11Request = bodyOf((w) => {
    w.int32(-1)
      .int32(500)
      .int32(1)
      .int32(50 << 20)
      .int8(0)
      .int32(0)
      .int32(-1);
    w.int32(1).string('ingest');
    w.array(partitions, (pw, index) =>
      pw
        .int32(index)
        .int32(-1)
        .int64(1_000_000)
        .int64(0)
        .int32(1 << 20),
    );
    w.int32(0).string('');
  });
  const fetchResponse: FetchResponseData = {
    topics: [
      {
        topic: 'ingest',
        partitions: partitions.map((partition) => ({
          partition,
          errorCode: 0,
          highWatermark: 2_000_000,
          lastStableOffset: 2_000_000,
          logStartOffset: 0,
          records: batch,
        })),
      },
    ],
  };
  const writer = new KafkaWriter(16 * 1024);
  const frameBytes = (encode: (w: KafkaWriter) => void) => {
    encode(writer.beginFrame().int32(1));
    let total = 0;
    for (const chunk of writer.finishFrame()) total += chunk.length;
    return total;
  };
  // The generated v11 encoding must be the hand one, byte for byte.
  const hand = bodyOf((w) => handEncodeFetch(w, fetchResponse));
  const generated = bodyOf((w) => fetchApi.encode(w, fetchResponse, 11));
  if (Buffer.compare(hand, generated) !== 0) throw new Error('Fetch v11 encodings differ');

  const names = {
    handProduce: 'hand: decode Produce v7 request',
    produce7: 'generated: decode Produce v7 request',
    produce9: 'generated: decode Produce v9 request',
    handFetchRequest: 'hand: decode Fetch v11 request',
    fetchRequest: 'generated: decode Fetch v11 request',
    handFetch: 'hand: encode Fetch v11 response',
    fetch11: 'generated: encode Fetch v11 response',
    fetch12: 'generated: encode Fetch v12 response',
  };
  bench(names.handProduce, () => do_not_optimize(handDecodeProduce(new KafkaReader(produceV7))));
  bench(names.produce7, () => do_not_optimize(produceApi.decode(new KafkaReader(produceV7), 7)));
  bench(names.produce9, () => do_not_optimize(produceApi.decode(new KafkaReader(produceV9), 9)));
  bench(names.handFetchRequest, () => do_not_optimize(handDecodeFetch(new KafkaReader(fetchV11Request))));
  bench(names.fetchRequest, () => do_not_optimize(fetchApi.decode(new KafkaReader(fetchV11Request), 11)));
  bench(names.handFetch, () => do_not_optimize(frameBytes((w) => handEncodeFetch(w, fetchResponse))));
  bench(names.fetch11, () => do_not_optimize(frameBytes((w) => fetchApi.encode(w, fetchResponse, 11))));
  bench(names.fetch12, () => do_not_optimize(frameBytes((w) => fetchApi.encode(w, fetchResponse, 12))));
  if (args.includes('--interleaved')) {
    interleaved({
      [names.handProduce]: () => handDecodeProduce(new KafkaReader(produceV7)),
      [names.produce7]: () => produceApi.decode(new KafkaReader(produceV7), 7),
      [names.produce9]: () => produceApi.decode(new KafkaReader(produceV9), 9),
      [names.handFetchRequest]: () => handDecodeFetch(new KafkaReader(fetchV11Request)),
      [names.fetchRequest]: () => fetchApi.decode(new KafkaReader(fetchV11Request), 11),
      [names.handFetch]: () => frameBytes((w) => handEncodeFetch(w, fetchResponse)),
      [names.fetch11]: () => frameBytes((w) => fetchApi.encode(w, fetchResponse, 11)),
      [names.fetch12]: () => frameBytes((w) => fetchApi.encode(w, fetchResponse, 12)),
    });
    return;
  }
  const produceBytes = produceV7.length;
  const fetchBytes = frameBytes((w) => handEncodeFetch(w, fetchResponse));
  await runWithRatios([
    {
      name: names.handProduce,
      baseline: names.handProduce,
      bytesPerOp: produceBytes,
      itemsPerOp: PARTITIONS,
    },
    { name: names.produce7, baseline: names.handProduce, bytesPerOp: produceBytes, itemsPerOp: PARTITIONS },
    { name: names.produce9, baseline: names.handProduce, bytesPerOp: produceBytes, itemsPerOp: PARTITIONS },
    { name: names.handFetchRequest, baseline: names.handFetchRequest, bytesPerOp: fetchV11Request.length },
    { name: names.fetchRequest, baseline: names.handFetchRequest, bytesPerOp: fetchV11Request.length },
    { name: names.handFetch, baseline: names.handFetch, bytesPerOp: fetchBytes, itemsPerOp: PARTITIONS },
    { name: names.fetch11, baseline: names.handFetch, bytesPerOp: fetchBytes, itemsPerOp: PARTITIONS },
    { name: names.fetch12, baseline: names.handFetch, bytesPerOp: fetchBytes, itemsPerOp: PARTITIONS },
  ]);
}

/** Median CPU ns per operation of each case, over interleaved rounds. */
function interleaved(cases: Record<string, () => unknown>): void {
  const rounds = 15;
  const operations = 20_000;
  const samples = new Map<string, number[]>();
  let sink = 0;
  for (let round = 0; round < rounds; round++) {
    for (const [name, operation] of Object.entries(cases)) {
      const start = process.cpuUsage();
      for (let i = 0; i < operations; i++) if (operation() !== undefined) sink++;
      const used = process.cpuUsage(start);
      const nsPerOperation = ((used.user + used.system) * 1000) / operations;
      samples.set(name, [...(samples.get(name) ?? []), nsPerOperation]);
    }
  }
  const median = (values: readonly number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  for (const [name, values] of samples)
    console.log(`${name.padEnd(40)} ${median(values).toFixed(0)} ns CPU/op`);
  if (sink === 0) console.log('(no results)');
}
