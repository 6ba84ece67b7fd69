import { afterEach, describe, expect, it } from 'vitest';
import { LeanKafkaProducer, produceRequestBytes } from '../../src/cli/bench/lean-kafka-producer.js';
import { openLoop } from '../../src/cli/bench/open-loop.js';
import { threadCpuNs } from '../../src/common/thread-cpu.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { brokerCpuProbe, cpuPerRequest } from '../../tools/broker-cpu.js';
import { rawTcpLatencyAtRate, startAckServer } from '../../tools/raw-baselines.js';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The regression check for a slower hot path, for CI: the CPU time one
 * produce (one 1 KiB record, acks=1, fsync never) costs the broker's
 * acceptor thread and its shard thread, against the CPU time a raw Node TCP
 * echo's thread spends per request of the same size at the same rate, in the
 * same run. CPU time rather than latency, and a ratio rather than a time, so
 * a loaded or slower machine moves both sides alike; the bounds are a few
 * times what this machine measures (bench/RESULTS.md), so only a real
 * slowdown of the produce path fails it.
 */
const RATE_PER_S = 2000;
const WARMUP_S = 1.5;
const MEASURED_S = 1.5;
const PARTITIONS = 8;
/**
 * Measured 2026-12-03 with the load average at 31: echo 30 µs, acceptor 83–126 µs (2.8–4.1×), shard
 * 44–56 µs (1.5–1.9×). On a quiet machine the echo costs less (~10 µs at 5k req/s, issue 18) and the ratios
 * grow (acceptor ~8×, shard ~4×), so the bounds sit well above that: a slowdown of a few times fails
 * (a 1 ms busy loop per produce does), run-to-run noise does not.
 */
const ACCEPTOR_RATIO_MAX = 20;
const SHARD_RATIO_MAX = 12;

describe.runIf(process.platform === 'linux')('hot-path CPU per produce against a raw TCP echo', () => {
  let serve: ServeProcess | null = null;
  let temp: { dir: string; cleanup: () => void } | null = null;
  afterEach(async () => {
    if (serve !== null) {
      serve.child.kill('SIGKILL');
      await serve.exited;
      serve = null;
    }
    temp?.cleanup();
    temp = null;
  });

  it('given single-record produces at a fixed rate then acceptor and shard CPU per request stay within bounds of the echo', async () => {
    const batch = buildRecordBatch([{ key: null, value: new Uint8Array(1024).fill(5) }]);

    const echo = await startAckServer();
    let echoStartNs = Number.NaN;
    let echoUs: number;
    try {
      const echoed = await rawTcpLatencyAtRate(
        echo.port,
        produceRequestBytes('hot', 1, batch.length),
        RATE_PER_S,
        MEASURED_S,
        WARMUP_S,
        () => {
          echoStartNs = threadCpuNs('self', echo.threadId) ?? Number.NaN;
        },
      );
      echoUs = ((threadCpuNs('self', echo.threadId) ?? Number.NaN) - echoStartNs) / 1000 / echoed.count;
    } finally {
      await echo.stop();
    }

    temp = makeTempDir('hot-path');
    serve = await startServe(['--data', temp.dir, '--fsync', 'never']);
    const created = await fetch(`http://127.0.0.1:${serve.httpPort}/topics`, {
      method: 'POST',
      body: JSON.stringify({ name: 'hot', partitions: PARTITIONS }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(created.status).toBe(201);
    const producer = await LeanKafkaProducer.connect(serve.kafkaPort);
    try {
      const send = (i: number) => producer.produce('hot', i % PARTITIONS, batch, 1);
      const probe = await brokerCpuProbe(serve.child.pid!, serve.httpPort);
      await openLoop(send, RATE_PER_S, WARMUP_S);
      const before = probe.read();
      const steady = await openLoop(send, RATE_PER_S, MEASURED_S);
      const cpu = cpuPerRequest(before, probe.read(), steady.count);
      const figures =
        `echo ${echoUs.toFixed(1)} µs, acceptor ${cpu.acceptorUs.toFixed(1)} µs, ` +
        `shards ${cpu.shardUs.map((us) => us.toFixed(1)).join('/')} µs CPU per request`;
      expect(echoUs, figures).toBeGreaterThan(0);
      expect(cpu.shardUs.length, figures).toBeGreaterThan(0);
      expect(cpu.acceptorUs / echoUs, figures).toBeLessThan(ACCEPTOR_RATIO_MAX);
      // Every request reaches one shard: their sum is what a request costs the shards.
      const shardUs = cpu.shardUs.reduce((sum, us) => sum + us, 0);
      expect(shardUs / echoUs, figures).toBeLessThan(SHARD_RATIO_MAX);
    } finally {
      producer.close();
    }
  }, 60_000);
});
