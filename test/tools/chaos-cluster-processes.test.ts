import { type AddressInfo, createServer } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHistory, type ReplicaRead } from '../../tools/chaos/checker.js';
import { FaultProxy } from '../../tools/chaos/fault-proxy.js';
import { HistoryRecorder } from '../../tools/chaos/history.js';
import { type Fault, runNemesis } from '../../tools/chaos/nemesis.js';
import { readReplicaFromDataDir } from '../../tools/chaos/replica-reader.js';
import { runWorkload } from '../../tools/chaos/workload.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The chaos checker against three `pyralog serve` processes and a real etcd,
 * so that the nemesis can SIGKILL or SIGSTOP the current leader (and cut its
 * links); a killed broker is restarted on its data directory when the faults
 * heal. Long: run with PYRALOG_CHAOS=1 (after `npm run build`).
 */
describe.skipIf(!etcdAvailable || process.env.PYRALOG_CHAOS !== '1')(
  'chaos run against three broker processes',
  () => {
    let etcd: EtcdCluster | undefined;
    const processes = new Map<number, ServeProcess>();
    const args = new Map<number, string[]>();
    const proxies: FaultProxy[] = [];
    const temps = new Map<number, ReturnType<typeof makeTempDir>>();
    afterAll(async () => {
      for (const serve of processes.values()) serve.child.kill('SIGKILL');
      await Promise.all([...processes.values()].map((serve) => serve.exited));
      await Promise.all(proxies.map((proxy) => proxy.close()));
      await etcd?.stop();
      for (const temp of temps.values()) temp.cleanup();
    });

    it('given the leader killed, stopped or cut off, no acknowledged write is lost and replicas agree', async () => {
      etcd = await startEtcd();
      const etcdPort = Number(new URL(etcd.endpoints[0]!).port);
      const kafkaLinks = new Map<number, FaultProxy>();
      const etcdLinks = new Map<number, FaultProxy>();
      for (const id of [1, 2, 3]) {
        const temp = makeTempDir(`chaos-process-${id}`);
        temps.set(id, temp);
        const kafkaPort = await freePort();
        const kafkaLink = await FaultProxy.start({ targetPort: kafkaPort, name: `*->broker${id}` });
        const etcdLink = await FaultProxy.start({ targetPort: etcdPort, name: `broker${id}->etcd` });
        proxies.push(kafkaLink, etcdLink);
        kafkaLinks.set(id, kafkaLink);
        etcdLinks.set(id, etcdLink);
        args.set(id, [
          '--data',
          temp.dir,
          '--kafka-port',
          String(kafkaPort),
          '--advertised-port',
          String(kafkaLink.port),
          '--broker-id',
          String(id),
          '--etcd',
          `http://127.0.0.1:${etcdLink.port}`,
          '--cluster',
          'chaos',
          '--etcd-lease-ttl-ms',
          '2000',
          '--shards',
          '1',
        ]);
      }
      await Promise.all(
        [1, 2, 3].map(async (id) => processes.set(id, await startServe(args.get(id)!, 60_000))),
      );
      const bootstrap = [...kafkaLinks.values()].map((proxy) => `127.0.0.1:${proxy.port}`);
      const admin = new Kafka({
        clientId: 'setup',
        brokers: bootstrap,
        logLevel: logLevel.NOTHING,
        retry: { retries: 10, initialRetryTime: 200 },
      }).admin();
      await admin.connect();
      await admin.createTopics({
        topics: [
          {
            topic: 'chaos',
            numPartitions: 1,
            replicationFactor: 3,
            configEntries: [{ name: 'min.insync.replicas', value: '2' }],
          },
        ],
      });

      /** The partition's leader from Metadata, asked through the admin client. */
      const currentLeader = async (): Promise<number> => {
        const metadata = await admin.fetchTopicMetadata({ topics: ['chaos'] });
        const leader = metadata.topics[0]?.partitions[0]?.leader;
        if (leader === undefined || leader < 0) throw new Error('no leader known');
        return leader;
      };
      const killed = new Set<number>();
      const stopped = new Set<number>();
      const faults: Fault[] = [
        {
          action: 'SIGKILL',
          target: 'leader',
          apply: async () => {
            const leader = await currentLeader();
            processes.get(leader)!.child.kill('SIGKILL');
            killed.add(leader);
          },
        },
        {
          action: 'SIGSTOP',
          target: 'leader',
          apply: async () => {
            const leader = await currentLeader();
            processes.get(leader)!.child.kill('SIGSTOP');
            stopped.add(leader);
          },
        },
        {
          action: 'blackhole',
          target: "leader's etcd link",
          apply: async () => etcdLinks.get(await currentLeader())!.blackhole(),
        },
        {
          action: 'blackhole',
          target: "leader's Kafka link",
          apply: async () => kafkaLinks.get(await currentLeader())!.blackhole(),
        },
      ];
      const healAll = async (): Promise<void> => {
        for (const proxy of proxies) proxy.heal();
        for (const id of stopped) processes.get(id)!.child.kill('SIGCONT');
        stopped.clear();
        for (const id of killed) {
          await processes.get(id)!.exited;
          processes.set(id, await startServe(args.get(id)!, 60_000));
        }
        killed.clear();
      };

      const history = new HistoryRecorder();
      let done = false;
      const workload = runWorkload({
        brokers: bootstrap,
        topic: 'chaos',
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
      await sleep(2_000);
      await runNemesis({
        faults,
        healAll,
        history,
        seed: Number(process.env.PYRALOG_CHAOS_SEED ?? 1),
        quietMs: 3_000,
        faultMs: 4_000,
        durationMs: Number(process.env.PYRALOG_CHAOS_MS ?? 30_000),
      });
      const lastHealMs = Date.now();
      const resumed = (): boolean =>
        history
          .events()
          .some(
            (event) => event.kind === 'write' && event.outcome === 'ok' && event.completedAtMs >= lastHealMs,
          );
      for (let round = 0; round < 200 && !resumed(); round++) await sleep(100);
      await sleep(2_000);
      done = true;
      const counts = await workload;
      await admin.disconnect();
      await sleep(5_000);
      for (const serve of processes.values()) serve.child.kill('SIGTERM');
      await Promise.all([...processes.values()].map((serve) => serve.exited));
      processes.clear();

      const reads = [1, 2, 3].map((id) => readReplicaFromDataDir(temps.get(id)!.dir, id, 'chaos', 0));
      const result = checkHistory(
        history.events(),
        reads.filter((read): read is ReplicaRead => read !== null),
        { resumeWithinMs: 15_000 },
      );
      console.log(
        JSON.stringify(
          {
            counts,
            faults: history.events().filter((event) => event.kind === 'fault'),
            lengths: reads.map((read) => read?.records.length ?? null),
            lost: result.lost.slice(0, 5),
            duplicates: result.duplicates.slice(0, 5),
            divergent: result.divergent,
            unexpected: result.unexpected.slice(0, 5),
            resumes: result.resumes,
          },
          null,
          1,
        ),
      );
      expect(counts.ok).toBeGreaterThan(0);
      expect(reads.every((read) => read !== null)).toBe(true);
      expect(result.valid).toBe(true);
    });
  },
);
