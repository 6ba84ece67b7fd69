import { Kafka, logLevel } from 'kafkajs';
import { type CheckResult, checkHistory, type ReplicaRead } from './checker.js';
import { clusterFaults } from './cluster-faults.js';
import { ClusterProbe } from './cluster-probe.js';
import { HistoryRecorder } from './history.js';
import { runNemesis } from './nemesis.js';
import { ProcessCluster } from './process-cluster.js';
import { readReplicaFromDataDir } from './replica-reader.js';
import { runWorkload } from './workload.js';

/**
 * The chaos checker, whole: 3 `pyralog serve` processes and 3 etcd
 * members with every link behind a fault proxy (process-cluster.ts), an
 * acks=all workload of idempotent and plain producers, a seeded nemesis of
 * one fault every few seconds (cluster-faults.ts), then, after healing and
 * letting the replicas converge, every replica of every partition read from
 * its broker's data directory and checked (checker.ts).
 *
 * `runUncleanControl` is the negative control: it sets up a loss the ISR rule
 * prevents and unclean leader election allows, so the same checker must
 * fail with unclean election on (and pass with it off).
 */
export interface ClusterChaosOptions {
  seed: number;
  /** No fault starts after this long. */
  durationMs: number;
  quietMs: number;
  faultMs: number;
  /** `cycle`: the faults in turn (the short CI form covers the list first); `random` by default. */
  order?: 'random' | 'cycle';
  partitions: number;
  leaseTtlMs?: number;
  replicaLagTimeMaxMs?: number;
  /** Where the history goes as JSON lines (kept when a run fails, to check again by hand). */
  historyPath?: string;
  log?: (line: string) => void;
}

export interface ClusterChaosReport {
  result: CheckResult;
  counts: { ok: number; fail: number; info: number };
  faults: { action: string; target: string }[];
  /** Records per replica read, by `broker/partition`. */
  lengths: Record<string, number | null>;
  /** Whether the replicas held the same records before the brokers were stopped. */
  converged: boolean;
}

const TOPIC = 'chaos';
const CLUSTER = 'chaos';
const RESUME_WITHIN_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runClusterChaos(options: ClusterChaosOptions): Promise<ClusterChaosReport> {
  const log = options.log ?? (() => undefined);
  const cluster = await startChaosCluster(options);
  try {
    await createTopic(cluster, TOPIC, options.partitions, [{ name: 'min.insync.replicas', value: '2' }]);
    const history = new HistoryRecorder(options.historyPath);
    let done = false;
    const workload = runWorkload({
      brokers: cluster.bootstrap(),
      topic: TOPIC,
      partitions: options.partitions,
      producers: [
        { name: 'idem', idempotent: true },
        { name: 'plain', idempotent: false },
      ],
      history,
      stop: () => done,
      requestTimeoutMs: 2_000,
      pauseMs: 10,
    });
    try {
      await waitForWrites(history, 0, 1, 30_000);
      const { faults, healAll } = clusterFaults(cluster, TOPIC, options.partitions, options.seed);
      const applied = await runNemesis({
        faults,
        healAll,
        history,
        seed: options.seed,
        quietMs: options.quietMs,
        faultMs: options.faultMs,
        durationMs: options.durationMs,
        order: options.order ?? 'random',
      });
      log(`nemesis applied ${applied} faults`);
      await waitForWrites(history, Date.now(), 1, RESUME_WITHIN_MS + 5_000);
      await sleep(1_000);
    } finally {
      done = true;
    }
    const counts = await workload;
    return await settleAndCheck(cluster, history, TOPIC, options.partitions, counts);
  } finally {
    await cluster.close();
  }
}

export interface UncleanControlOptions {
  /** unclean.leader.election.enable on the topic: with it the checker must fail, without it pass. */
  unclean: boolean;
  leaseTtlMs?: number;
  replicaLagTimeMaxMs?: number;
  historyPath?: string;
  log?: (line: string) => void;
}

/**
 * The negative control: a topic with min.insync.replicas=1, so a leader alone
 * in the ISR acknowledges acks=all writes. The leader is cut from both
 * followers until it has shrunk the ISR to itself and acknowledged writes
 * that only it holds, then SIGKILLed. With unclean election a follower
 * outside the ISR becomes leader and writes over those offsets: acknowledged
 * writes are lost and the checker must say so. Without it the partition stays
 * offline until the old leader returns, and nothing acknowledged is lost.
 */
export async function runUncleanControl(options: UncleanControlOptions): Promise<ClusterChaosReport> {
  const log = options.log ?? (() => undefined);
  const topic = 'control';
  const cluster = await startChaosCluster({
    ...options,
    replicaLagTimeMaxMs: options.replicaLagTimeMaxMs ?? 2_000,
  });
  try {
    await createTopic(cluster, topic, 1, [
      { name: 'min.insync.replicas', value: '1' },
      { name: 'unclean.leader.election.enable', value: String(options.unclean) },
    ]);
    const probe = new ClusterProbe(
      cluster.etcd.members.map((member) => member.clientUrl),
      cluster.options.clusterName,
    );
    const history = new HistoryRecorder(options.historyPath);
    let done = false;
    const workload = runWorkload({
      brokers: cluster.bootstrap(),
      topic,
      partitions: 1,
      producers: [
        { name: 'idem', idempotent: true },
        { name: 'plain', idempotent: false },
      ],
      history,
      stop: () => done,
      requestTimeoutMs: 2_000,
      pauseMs: 10,
    });
    try {
      await waitForWrites(history, 0, 5, 30_000);
      const leader = await ClusterProbe.until(() => probe.leader(topic, 0), 10_000);
      if (leader === undefined) throw new Error('the control topic has no leader');
      history.record({
        kind: 'fault',
        action: 'blackhole',
        target: `b${leader}<->followers`,
        atMs: Date.now(),
      });
      for (const link of cluster.peerLinksOf(leader)) link.blackhole('both');
      const shrunk = await ClusterProbe.until(
        async () => {
          const state = await probe.partition(topic, 0);
          return state !== undefined && state.isr.length === 1 && state.isr[0] === leader ? true : undefined;
        },
        (options.replicaLagTimeMaxMs ?? 2_000) + 20_000,
      );
      if (shrunk === undefined) throw new Error(`leader ${leader} did not shrink the ISR to itself`);
      const aloneSinceMs = Date.now();
      await waitForWrites(history, aloneSinceMs, 5, 20_000);
      log(`leader ${leader} alone in the ISR acknowledged writes; SIGKILL`);
      history.record({ kind: 'fault', action: 'SIGKILL', target: `b${leader}`, atMs: Date.now() });
      await cluster.signal(leader, 'SIGKILL');
      if (options.unclean) {
        const next = await ClusterProbe.until(async () => {
          const now = await probe.leader(topic, 0);
          return now !== undefined && now !== leader ? now : undefined;
        }, 30_000);
        if (next === undefined) throw new Error('no unclean leader was elected');
        log(`broker ${next} leads uncleanly`);
        await waitForWrites(history, Date.now(), 5, 20_000);
      } else {
        // The partition is offline (its only ISR member is dead); give the controller time to say so.
        await sleep((options.leaseTtlMs ?? 2_000) + 3_000);
      }
      cluster.healLinks();
      await cluster.startBroker(leader);
      history.record({ kind: 'heal', atMs: Date.now() });
      await waitForWrites(history, Date.now(), 1, RESUME_WITHIN_MS + 5_000);
      await sleep(1_000);
    } finally {
      done = true;
    }
    const counts = await workload;
    return await settleAndCheck(cluster, history, topic, 1, counts);
  } finally {
    await cluster.close();
  }
}

function startChaosCluster(options: {
  leaseTtlMs?: number;
  replicaLagTimeMaxMs?: number;
}): Promise<ProcessCluster> {
  return ProcessCluster.start({
    brokerIds: [1, 2, 3],
    etcdMembers: 3,
    clusterName: CLUSTER,
    leaseTtlMs: options.leaseTtlMs ?? 2_000,
    replicaLagTimeMaxMs: options.replicaLagTimeMaxMs ?? 5_000,
    proxied: true,
    // PYRALOG_CHAOS_LOGS=DIR keeps every broker's log (at info level) there, to see what a failed run did.
    extraArgs: [
      '--shards',
      '1',
      ...(process.env.PYRALOG_CHAOS_LOGS === undefined ? [] : ['--log-level', 'info']),
    ],
    ...(process.env.PYRALOG_CHAOS_LOGS === undefined ? {} : { logDir: process.env.PYRALOG_CHAOS_LOGS }),
  });
}

/** Creates the topic (RF 3) and waits until every partition has a leader and a full ISR. */
async function createTopic(
  cluster: ProcessCluster,
  topic: string,
  partitions: number,
  configEntries: { name: string; value: string }[],
): Promise<void> {
  const probe = new ClusterProbe(
    cluster.etcd.members.map((member) => member.clientUrl),
    cluster.options.clusterName,
  );
  const admin = new Kafka({
    clientId: 'chaos-setup',
    brokers: cluster.bootstrap(),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200 },
  }).admin();
  await admin.connect();
  try {
    // Every broker must be registered, or the topic would be refused INVALID_REPLICATION_FACTOR.
    const deadline = Date.now() + 30_000;
    while ((await admin.describeCluster()).brokers.length < 3) {
      if (Date.now() > deadline) throw new Error('three brokers did not register within 30 s');
      await sleep(200);
    }
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 3, configEntries }],
    });
  } finally {
    await admin.disconnect();
  }
  for (let partition = 0; partition < partitions; partition++) {
    const ready = await ClusterProbe.until(async () => {
      const state = await probe.partition(topic, partition);
      return state !== undefined && state.leader >= 0 && state.isr.length === 3 ? true : undefined;
    }, 30_000);
    if (ready === undefined) throw new Error(`${topic}-${partition} has no leader with a full ISR`);
  }
}

/** Resolves once `count` writes completed after `sinceMs` were acknowledged, or `timeoutMs` passed. */
async function waitForWrites(
  history: HistoryRecorder,
  sinceMs: number,
  count: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let acknowledged = 0;
    for (const event of history.events()) {
      if (event.kind === 'write' && event.outcome === 'ok' && event.invokedAtMs >= sinceMs) acknowledged++;
    }
    if (acknowledged >= count) return;
    await sleep(100);
  }
}

/**
 * Waits (bounded) until every partition's replicas hold the same records,
 * stops the brokers, reads every replica from its data directory and checks.
 */
async function settleAndCheck(
  cluster: ProcessCluster,
  history: HistoryRecorder,
  topic: string,
  partitions: number,
  counts: { ok: number; fail: number; info: number },
): Promise<ClusterChaosReport> {
  const readAll = (): (ReplicaRead | null)[] =>
    [...cluster.brokers.values()].flatMap((slot) =>
      Array.from({ length: partitions }, (_, partition) =>
        readReplicaFromDataDir(slot.dataDir, slot.id, topic, partition),
      ),
    );
  const agree = (reads: (ReplicaRead | null)[]): boolean => {
    for (let partition = 0; partition < partitions; partition++) {
      const ends = reads
        .filter((read) => read?.partition === partition)
        .map((read) => {
          const last = read!.records.at(-1);
          return `${read!.records.length}:${last?.offset ?? -1}:${last?.value ?? ''}`;
        });
      if (ends.length < cluster.brokers.size || new Set(ends).size !== 1) return false;
    }
    return true;
  };
  let converged = false;
  const deadline = Date.now() + 30_000;
  while (!converged && Date.now() < deadline) {
    converged = agree(readAll());
    if (!converged) await sleep(250);
  }
  await cluster.stopBrokers();
  const reads = readAll();
  const result = checkHistory(
    history.events(),
    reads.filter((read): read is ReplicaRead => read !== null),
    { resumeWithinMs: RESUME_WITHIN_MS },
  );
  const lengths: Record<string, number | null> = {};
  for (const slot of cluster.brokers.values()) {
    for (let partition = 0; partition < partitions; partition++) {
      const read = reads.find((r) => r?.broker === slot.id && r.partition === partition);
      lengths[`${slot.id}/${partition}`] = read?.records.length ?? null;
    }
  }
  return {
    result,
    counts,
    faults: history
      .events()
      .flatMap((event) => (event.kind === 'fault' ? [{ action: event.action, target: event.target }] : [])),
    lengths,
    converged,
  };
}
