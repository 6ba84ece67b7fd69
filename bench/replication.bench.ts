import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ClusterProbe } from '../tools/chaos/cluster-probe.js';
import { ProcessCluster } from '../tools/chaos/process-cluster.js';
import { numberFlag } from './support/flags.js';
import { type SuiteRow, suiteRow, writeSuiteResults } from './support/suite-results.js';

/**
 * `npm run bench -- replication`: what replication costs and how fast it
 * fails over, on 3 local `pyralog serve` processes (1 shard each, fsync
 * always) and 1 etcd member, all on this machine, each figure beside a
 * baseline from the same run:
 *
 * - acks=all on RF 3 (min.insync.replicas 2) against RF 1: `--producers` kafkajs producers each send a
 *   batch of 100 records of 100 bytes per partition (3 partitions, leaders where placement put them) and wait for it;
 *   records per second and the p99 of a send. The two topics alternate for `--rounds` rounds of
 *   `--seconds` each, after a warm-up; ratios are RF 3 over RF 1.
 * - replication lag under that RF 3 load: every 100 ms each broker's HTTP `GET /topics/rf3` gives its
 *   replica's log end; per follower, the leader's log end minus its own (offsets) and how long the oldest
 *   record it lacks has been on the leader (ms, interpolated between samples).
 * - failover unavailability over `--kills` leader kills: one producer writes single records (acks=all) to a
 *   RF 3 partition; the leader is SIGKILLed; the time from the kill to the first write acknowledged after it
 *   (by the new leader); the killed broker restarts and the ISR is full again before the next kill. The
 *   baseline is the lease TTL (`--lease-ms`, default 2000), which bounds how fast etcd can notice.
 *
 * Results: bench/out/replication.json. Short form: `--seconds=2 --rounds=1 --kills=2`.
 */
const PARTITIONS = 3;
const RECORDS_PER_BATCH = 100;
const VALUE = 'x'.repeat(100);
const SAMPLE_INTERVAL_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

interface LoadResult {
  recordsPerSecond: number;
  latenciesMs: number[];
}

/** `producers` loops each sending one batch per partition to `topic` until `seconds` pass. */
async function load(producers: readonly Producer[], topic: string, seconds: number): Promise<LoadResult> {
  const messages = Array.from({ length: PARTITIONS * RECORDS_PER_BATCH }, (_, i) => ({
    value: VALUE,
    partition: i % PARTITIONS,
  }));
  const latenciesMs: number[] = [];
  let records = 0;
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  await Promise.all(
    producers.map(async (producer) => {
      while (performance.now() < endMs) {
        const sentMs = performance.now();
        await producer.send({ topic, acks: -1, messages });
        latenciesMs.push(performance.now() - sentMs);
        records += messages.length;
      }
    }),
  );
  return { recordsPerSecond: records / ((performance.now() - startMs) / 1000), latenciesMs };
}

interface LagSamples {
  offsets: number[];
  ms: number[];
}

/**
 * Samples every broker's log end of each partition of `topic` until `stop()`, and turns them into
 * follower lag in offsets and in ms.
 */
async function sampleLag(
  cluster: ProcessCluster,
  topic: string,
  leaders: ReadonlyMap<number, number>,
  stop: () => boolean,
): Promise<LagSamples> {
  const samples: LagSamples = { offsets: [], ms: [] };
  /** Per partition, the leader's log end over time: when it first reached each sampled value. */
  const leaderTimeline = new Map<number, { atMs: number; end: number }[]>();
  while (!stop()) {
    const atMs = performance.now();
    const ends = await Promise.all(
      [...cluster.brokers.values()].map(async (slot) => {
        try {
          const response = await fetch(`http://127.0.0.1:${slot.httpPort}/topics/${topic}`, {
            signal: AbortSignal.timeout(1000),
          });
          const body = (await response.json()) as {
            partitions: { partition: number; logEndOffset: number }[];
          };
          return { broker: slot.id, partitions: body.partitions };
        } catch {
          return { broker: slot.id, partitions: [] };
        }
      }),
    );
    for (const [partition, leader] of leaders) {
      const leaderEnd = ends
        .find((entry) => entry.broker === leader)
        ?.partitions.find((p) => p.partition === partition)?.logEndOffset;
      if (leaderEnd === undefined) continue;
      const timeline = leaderTimeline.get(partition) ?? [];
      leaderTimeline.set(partition, timeline);
      if (timeline.length === 0 || timeline.at(-1)!.end < leaderEnd) timeline.push({ atMs, end: leaderEnd });
      for (const entry of ends) {
        if (entry.broker === leader) continue;
        const followerEnd = entry.partitions.find((p) => p.partition === partition)?.logEndOffset;
        if (followerEnd === undefined) continue;
        samples.offsets.push(Math.max(0, leaderEnd - followerEnd));
        samples.ms.push(lagMsAt(timeline, followerEnd, atMs));
      }
    }
    await sleep(SAMPLE_INTERVAL_MS);
  }
  return samples;
}

/**
 * How long the oldest record a follower lacks (offset `followerEnd`) has been on the leader at `atMs`: when the
 * leader's log end passed `followerEnd`, interpolated between the two samples around that moment (appends
 * between samples are taken as evenly spread). 0 when the follower lacks nothing the leader was seen to hold.
 */
function lagMsAt(
  timeline: readonly { atMs: number; end: number }[],
  followerEnd: number,
  atMs: number,
): number {
  const index = timeline.findIndex((point) => point.end > followerEnd);
  if (index < 0) return 0;
  const after = timeline[index]!;
  const before = timeline[index - 1];
  if (before === undefined) return atMs - after.atMs;
  const fraction = (followerEnd + 1 - before.end) / (after.end - before.end);
  return atMs - (before.atMs + Math.min(1, Math.max(0, fraction)) * (after.atMs - before.atMs));
}

async function createTopic(
  kafka: Kafka,
  probe: ClusterProbe,
  topic: string,
  partitions: number,
  replicationFactor: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: partitions,
          replicationFactor,
          configEntries: [{ name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  for (let partition = 0; partition < partitions; partition++) {
    const ready = await ClusterProbe.until(async () => {
      const state = await probe.partition(topic, partition);
      return state !== undefined && state.leader >= 0 && state.isr.length === replicationFactor
        ? true
        : undefined;
    }, 30_000);
    if (ready === undefined) throw new Error(`${topic}-${partition} has no full ISR`);
  }
}

/**
 * Kills the leader of `failover`-0 `kills` times; the unavailability of each, in ms. The writer pauses
 * (nothing in flight) for the kill itself, so no acknowledgement the old leader sent just before dying can
 * count as one of the new leader's; it resumes at once.
 */
async function measureFailovers(
  cluster: ProcessCluster,
  kafka: Kafka,
  probe: ClusterProbe,
  kills: number,
): Promise<number[]> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 50, maxRetryTime: 200 },
  });
  await producer.connect();
  let lastAckMs = 0;
  let running = true;
  let pauseWanted = false;
  let paused: (() => void) | null = null;
  let resume: (() => void) | null = null;
  const writer = (async () => {
    let seq = 0;
    while (running) {
      if (pauseWanted) {
        await new Promise<void>((resolve) => {
          resume = resolve;
          paused?.();
        });
        continue;
      }
      try {
        await producer.send({
          topic: 'failover',
          acks: -1,
          timeout: 1000,
          messages: [{ partition: 0, value: `w${seq++}` }],
        });
        lastAckMs = performance.now();
      } catch {
        await sleep(20);
      }
    }
  })();
  const unavailableMs: number[] = [];
  try {
    for (let kill = 0; kill < kills; kill++) {
      const leader = await ClusterProbe.until(async () => {
        const state = await probe.partition('failover', 0);
        return state !== undefined && state.leader >= 0 && state.isr.length === 3 ? state.leader : undefined;
      }, 60_000);
      if (leader === undefined) throw new Error('failover-0 did not get a full ISR back within 60 s');
      const readyMs = performance.now();
      while (lastAckMs < readyMs && performance.now() - readyMs < 30_000) await sleep(10);
      await new Promise<void>((resolve) => {
        paused = resolve;
        pauseWanted = true;
      });
      const killedAtMs = performance.now();
      await cluster.signal(leader, 'SIGKILL');
      pauseWanted = false;
      (resume as (() => void) | null)?.();
      while (lastAckMs <= killedAtMs && performance.now() - killedAtMs < 60_000) await sleep(5);
      if (lastAckMs <= killedAtMs)
        throw new Error(`no write was acknowledged within 60 s of kill ${kill + 1}`);
      unavailableMs.push(lastAckMs - killedAtMs);
      console.log(
        `kill ${kill + 1}/${kills}: broker ${leader}, writes resumed after ${(lastAckMs - killedAtMs).toFixed(0)} ms`,
      );
      await cluster.startBroker(leader);
    }
  } finally {
    running = false;
    pauseWanted = false;
    (resume as (() => void) | null)?.();
    await writer;
    await producer.disconnect();
  }
  return unavailableMs;
}

export async function run(args: readonly string[]): Promise<void> {
  const seconds = numberFlag(args, 'seconds', 5);
  const rounds = numberFlag(args, 'rounds', 2);
  const kills = numberFlag(args, 'kills', 20);
  const producerCount = numberFlag(args, 'producers', 4);
  const leaseTtlMs = numberFlag(args, 'lease-ms', 2000);
  const cluster = await ProcessCluster.start({
    brokerIds: [1, 2, 3],
    etcdMembers: 1,
    clusterName: 'bench',
    leaseTtlMs,
    replicaLagTimeMaxMs: 10_000,
    proxied: false,
    extraArgs: ['--shards', '1'],
  });
  try {
    const probe = new ClusterProbe(cluster.etcd.endpoints, 'bench');
    const kafka = new Kafka({
      clientId: 'replication-bench',
      brokers: cluster.bootstrap(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    await admin.connect();
    const registeredBy = Date.now() + 30_000;
    while ((await admin.describeCluster()).brokers.length < 3 && Date.now() < registeredBy) await sleep(200);
    await admin.disconnect();
    await createTopic(kafka, probe, 'rf1', PARTITIONS, 1);
    await createTopic(kafka, probe, 'rf3', PARTITIONS, 3);
    await createTopic(kafka, probe, 'failover', 1, 3);

    const producers = await Promise.all(
      Array.from({ length: producerCount }, async () => {
        const producer = kafka.producer({ allowAutoTopicCreation: false });
        await producer.connect();
        return producer;
      }),
    );
    await load(producers, 'rf1', Math.max(1, seconds / 2));
    await load(producers, 'rf3', Math.max(1, seconds / 2));
    const rf3Leaders = new Map<number, number>();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      rf3Leaders.set(partition, (await probe.leader('rf3', partition)) ?? -1);
    }
    const byTopic = { rf1: [] as LoadResult[], rf3: [] as LoadResult[] };
    let lag: LagSamples = { offsets: [], ms: [] };
    for (let round = 0; round < rounds; round++) {
      byTopic.rf1.push(await load(producers, 'rf1', seconds));
      let sampling = true;
      const sampler = sampleLag(cluster, 'rf3', rf3Leaders, () => !sampling);
      byTopic.rf3.push(await load(producers, 'rf3', seconds));
      sampling = false;
      const sampled = await sampler;
      lag = { offsets: [...lag.offsets, ...sampled.offsets], ms: [...lag.ms, ...sampled.ms] };
    }
    await Promise.all(producers.map((producer) => producer.disconnect()));
    const mean = (results: LoadResult[]): number =>
      results.reduce((sum, result) => sum + result.recordsPerSecond, 0) / results.length;
    const p99 = (results: LoadResult[]): number =>
      percentile(ascending(results.flatMap((r) => r.latenciesMs)), 0.99);
    const p50rf3 = percentile(ascending(byTopic.rf3.flatMap((r) => r.latenciesMs)), 0.5);
    const lagOffsets = ascending(lag.offsets);
    const lagMs = ascending(lag.ms);

    const unavailable = ascending(await measureFailovers(cluster, kafka, probe, kills));
    const rows: SuiteRow[] = [
      suiteRow('acks=all throughput, RF 3 over RF 1', 'records/s', mean(byTopic.rf1), mean(byTopic.rf3)),
      suiteRow('acks=all send p99, RF 3 over RF 1', 'ms', p99(byTopic.rf1), p99(byTopic.rf3)),
      suiteRow(
        'replication lag p99 (offsets; baseline: one batch)',
        'offsets',
        RECORDS_PER_BATCH,
        percentile(lagOffsets, 0.99),
      ),
      suiteRow(
        'replication lag max (offsets; baseline: one batch)',
        'offsets',
        RECORDS_PER_BATCH,
        lagOffsets.at(-1) ?? Number.NaN,
      ),
      suiteRow(
        'replication lag p99 (ms, interpolated; baseline: RF 3 send p50)',
        'ms',
        p50rf3,
        percentile(lagMs, 0.99),
      ),
      suiteRow(
        'replication lag max (ms, interpolated; baseline: RF 3 send p50)',
        'ms',
        p50rf3,
        lagMs.at(-1) ?? Number.NaN,
      ),
      suiteRow(
        `failover unavailability p50 over ${unavailable.length} kills (baseline: lease TTL)`,
        'ms',
        leaseTtlMs,
        percentile(unavailable, 0.5),
      ),
      suiteRow(
        `failover unavailability max over ${unavailable.length} kills (baseline: lease TTL)`,
        'ms',
        leaseTtlMs,
        unavailable.at(-1) ?? Number.NaN,
      ),
    ];
    for (const row of rows) {
      console.log(
        `${row.name.padEnd(72)} ${row.baseline.toFixed(1).padStart(10)} -> ${row.value.toFixed(1).padStart(10)} ${row.unit.padEnd(9)} ${row.ratio.toFixed(2)}x`,
      );
    }
    const file = writeSuiteResults('replication', rows, {
      seconds,
      rounds,
      kills,
      producers: producerCount,
      leaseTtlMs,
      lagSamples: lagOffsets.length,
      unavailableMs: unavailable.map((ms) => Math.round(ms)).join(' '),
    });
    console.log(`wrote ${file}`);
  } finally {
    await cluster.close();
  }
}
