import { LeanKafkaProducer, produceRequestBytes } from '../../src/cli/bench/lean-kafka-producer.js';
import {
  createLatencyHistogram,
  type OpenLoopLatency,
  openLoop,
  summarizeAndDestroy,
} from '../../src/cli/bench/open-loop.js';
import { currentThreadId, threadCpuNs } from '../../src/common/thread-cpu.js';
import { brokerCpuProbe, type CpuPerRequest, cpuPerRequest } from '../../tools/broker-cpu.js';
import type { BrokerProcess } from '../../tools/broker-process.js';
import { rawTcpLatencyAtRate, startAckServer } from '../../tools/raw-baselines.js';
import { KafkaEndToEnd } from './kafka-end-to-end.js';

/**
 * The Kafka suite's latency section, in alternating rounds so that the
 * machine's neighbours do not decide a run: on a shared VM the raw TCP
 * baseline's p99 moves by 10x between runs, so a baseline measured once and
 * a broker measured once, seconds apart, can meet any noise. Here, after
 * the cold (first seconds of a fresh broker) run and a warm-up of each
 * series, every round measures, back to back and in a rotating order:
 *
 * - raw loopback TCP: frames of a 1-record Produce request's size through a
 *   Node TCP ack server (another thread of this process), with that
 *   server's thread CPU per request (the echo baseline of the CPU rows);
 * - produce: one 1 KiB record per request, acks=1, across the topic's
 *   partitions, with each broker thread's CPU per request (from /proc);
 * - end to end: the same requests to one partition of another topic, read
 *   back by a long-polling consumer (kafka-end-to-end.ts).
 *
 * Each row's ratio is then the median of the rounds' ratios
 * (suite-results.ts `roundsRow`); the pooled percentiles over all rounds are
 * printed beside them.
 */
export interface LatencyRound {
  raw: OpenLoopLatency;
  /** CPU µs per request of the raw TCP server's thread. */
  echoUs: number;
  steady: OpenLoopLatency;
  cpu: CpuPerRequest;
  /** CPU µs per request of the load generator's thread (this one) over the produce round. */
  generatorUs: number;
  endToEnd: OpenLoopLatency;
  /** The consumer's part of end to end: from the produce's acknowledgement to the consumer having the record. */
  endToEndAfterAck: OpenLoopLatency;
  /** Each broker thread's CPU per record end to end: its produce and its share of the consumer's fetches. */
  endToEndCpu: CpuPerRequest;
}

export interface LatencyRounds {
  /** The first `coldSeconds` of the fresh broker. */
  cold: OpenLoopLatency;
  rounds: LatencyRound[];
  /** Over all rounds, pooled. */
  raw: OpenLoopLatency;
  steady: OpenLoopLatency;
  endToEnd: OpenLoopLatency;
  cpu: CpuPerRequest;
  echoUsPerRequest: number;
  generatorUs: number;
}

export interface LatencyRoundsOptions {
  /** The topic (with `partitions` partitions) the produce rounds spread over. */
  topic: string;
  partitions: number;
  /** A topic of one partition, empty but for the end-to-end rounds. */
  endToEndTopic: string;
  batch: Uint8Array;
  ratePerSecond: number;
  coldSeconds: number;
  /** Not recorded, for each series before the first round (the fresh broker's cold run warms the produce path). */
  warmupSeconds: number;
  rounds: number;
  roundSeconds: number;
}

export async function latencyRounds(
  broker: BrokerProcess,
  options: LatencyRoundsOptions,
): Promise<LatencyRounds> {
  const { ratePerSecond: rate, roundSeconds } = options;
  const echo = await startAckServer();
  const producer = await LeanKafkaProducer.connect(broker.kafkaPort);
  const endToEnd = await KafkaEndToEnd.connect(broker.kafkaPort, options.endToEndTopic, 0, options.batch);
  const send = (i: number) => producer.produce(options.topic, i % options.partitions, options.batch, 1);
  const frameBytes = produceRequestBytes(options.topic, 1, options.batch.length);
  const probe = await brokerCpuProbe(broker.child.pid!, broker.httpPort);
  const generatorThread = currentThreadId();
  const pooled = {
    raw: createLatencyHistogram(),
    steady: createLatencyHistogram(),
    e2e: createLatencyHistogram(),
  };
  try {
    const cold = await openLoop(send, rate, options.coldSeconds);
    await rawTcpLatencyAtRate(echo.port, frameBytes, rate, 0, options.warmupSeconds);
    await endToEnd.round(rate, 0, options.warmupSeconds);

    const rawRound = async () => {
      const beforeNs = threadCpuNs('self', echo.threadId) ?? Number.NaN;
      const raw = await rawTcpLatencyAtRate(
        echo.port,
        frameBytes,
        rate,
        roundSeconds,
        0,
        undefined,
        pooled.raw,
      );
      const echoUs = ((threadCpuNs('self', echo.threadId) ?? Number.NaN) - beforeNs) / 1000 / raw.count;
      return { raw, echoUs };
    };
    const produceRound = async () => {
      const before = probe.read();
      const generatorBeforeNs = threadCpuNs('self', generatorThread) ?? Number.NaN;
      const steady = await openLoop(send, rate, roundSeconds, 0, undefined, pooled.steady);
      const generatorNs = (threadCpuNs('self', generatorThread) ?? Number.NaN) - generatorBeforeNs;
      return {
        steady,
        cpu: cpuPerRequest(before, probe.read(), steady.count),
        generatorUs: generatorNs / 1000 / steady.count,
      };
    };
    const endToEndRound = async () => {
      const before = probe.read();
      const figures = await endToEnd.round(rate, roundSeconds, 0, pooled.e2e);
      return {
        endToEnd: figures.endToEnd,
        endToEndAfterAck: figures.afterAck,
        endToEndCpu: cpuPerRequest(before, probe.read(), figures.endToEnd.count),
      };
    };
    const rounds: LatencyRound[] = [];
    for (let r = 0; r < options.rounds; r++) {
      // A rotating order, so that no series always follows the same one (or always runs first).
      const series = [rawRound, produceRound, endToEndRound];
      let round: Partial<LatencyRound> = {};
      for (let s = 0; s < series.length; s++)
        round = { ...round, ...(await series[(s + r) % series.length]!()) };
      rounds.push(round as LatencyRound);
    }
    const weighted = (us: (round: LatencyRound) => number, count: (round: LatencyRound) => number) =>
      rounds.reduce((sum, round) => sum + us(round) * count(round), 0) /
      rounds.reduce((sum, round) => sum + count(round), 0);
    return {
      cold,
      rounds,
      raw: summarizeAndDestroy(pooled.raw),
      steady: summarizeAndDestroy(pooled.steady),
      endToEnd: summarizeAndDestroy(pooled.e2e),
      cpu: {
        acceptorUs: weighted(
          (round) => round.cpu.acceptorUs,
          (round) => round.steady.count,
        ),
        shardUs: (rounds[0]?.cpu.shardUs ?? []).map((_, shard) =>
          weighted(
            (round) => round.cpu.shardUs[shard]!,
            (round) => round.steady.count,
          ),
        ),
        totalUs: weighted(
          (round) => round.cpu.totalUs,
          (round) => round.steady.count,
        ),
      },
      echoUsPerRequest: weighted(
        (round) => round.echoUs,
        (round) => round.raw.count,
      ),
      generatorUs: weighted(
        (round) => round.generatorUs,
        (round) => round.steady.count,
      ),
    };
  } finally {
    producer.close();
    endToEnd.close();
    await echo.stop();
  }
}
