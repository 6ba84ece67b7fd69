import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { readReplicaFromDataDir } from '../../tools/chaos/replica-reader.js';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../support/etcd.js';
import { type ServeProcess, startServe } from '../support/serve-process.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * acks=all against a SIGKILL: three `pyralog serve --etcd` processes, a topic
 * with three replicas, kafkajs producing with acks=all, and the partition's
 * leader killed with SIGKILL the moment the last acknowledgement arrives (no
 * graceful stop: whatever the followers had not fetched by then is gone with
 * it). Before the kill both followers are paused (SIGSTOP, shorter than
 * replica.lag.time.max.ms, so they stay in the ISR): an acks=all produce then
 * must not be acknowledged. After the failover and a few more writes, the
 * survivors are stopped and their data directories read: each holds every
 * acknowledged record at the offset it was acknowledged at. With the ISR rule
 * broken (the high watermark counting the leader alone) the paused produce is
 * acknowledged and the new leader lacks it.
 */
const LEASE_TTL_MS = 2000;

async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const found = await probe();
      if (found !== undefined) return found;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

describe.skipIf(!etcdAvailable)('acks=all and a SIGKILLed leader', () => {
  let etcd: EtcdCluster | undefined;
  const processes = new Map<number, ServeProcess>();
  const temps: (() => void)[] = [];
  afterAll(async () => {
    for (const serve of processes.values()) serve.child.kill('SIGKILL');
    await Promise.all([...processes.values()].map((serve) => serve.exited));
    await etcd?.stop();
    for (const cleanup of temps) cleanup();
  });

  const kafka = (port: number): Kafka =>
    new Kafka({
      clientId: 'kill',
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 12, initialRetryTime: 100 },
    });

  it('given acks=all on three replicas, when the leader is SIGKILLed right after an acknowledgement, then every survivor holds every acknowledged record', async () => {
    etcd = await startEtcd();
    const dirs = new Map<number, string>();
    for (const id of [1, 2, 3]) {
      const temp = makeTempDir(`kill-${id}`);
      temps.push(temp.cleanup);
      dirs.set(id, temp.dir);
      processes.set(
        id,
        await startServe(
          [
            '--broker-id',
            String(id),
            '--etcd',
            etcd.endpoints.join(','),
            '--cluster',
            'kill',
            '--etcd-lease-ttl-ms',
            String(LEASE_TTL_MS),
            '--data',
            temp.dir,
            '--shards',
            '1',
          ],
          60_000,
        ),
      );
    }
    const first = processes.get(1)!;
    const admin = kafka(first.kafkaPort).admin();
    await admin.connect();
    await eventually(
      async () => ((await admin.describeCluster()).brokers.length === 3 ? true : undefined),
      30_000,
      'three brokers',
    );
    await admin.createTopics({ topics: [{ topic: 'k', numPartitions: 1, replicationFactor: 3 }] });
    const leader = await eventually(
      async () => {
        const metadata = await admin.fetchTopicMetadata({ topics: ['k'] });
        const partition = metadata.topics[0]?.partitions[0];
        return partition !== undefined && partition.leader >= 1 && partition.isr.length === 3
          ? partition.leader
          : undefined;
      },
      20_000,
      'a leader with a full ISR',
    );
    await admin.disconnect();
    const acknowledged = new Map<number, string>();
    const producer = kafka(processes.get(leader)!.kafkaPort).producer();
    await producer.connect();
    for (let i = 0; i < 40; i++) {
      const value = `before-${i}`;
      const [result] = await producer.send({ topic: 'k', acks: -1, messages: [{ partition: 0, value }] });
      expect(result!.errorCode).toBe(0);
      acknowledged.set(Number(result!.baseOffset), value);
    }
    const survivors = [1, 2, 3].filter((id) => id !== leader);
    // Both followers pause (well within replica.lag.time.max.ms, so they stay in the ISR): an acks=all
    // produce must not be acknowledged while no follower can hold it.
    for (const id of survivors) processes.get(id)!.child.kill('SIGSTOP');
    const impatient = kafka(processes.get(leader)!.kafkaPort).producer({ retry: { retries: 0 } });
    await impatient.connect();
    const paused = await Promise.race([
      impatient
        .send({ topic: 'k', acks: -1, timeout: 1500, messages: [{ partition: 0, value: 'while-paused' }] })
        .then(
          ([result]) => (result!.errorCode === 0 ? 'acknowledged' : 'refused'),
          () => 'refused',
        ),
      new Promise<string>((resolve) => setTimeout(() => resolve('waiting'), 2500)),
    ]);
    expect(paused).not.toBe('acknowledged');
    // The leader dies at once, then the followers resume.
    processes.get(leader)!.child.kill('SIGKILL');
    for (const id of survivors) processes.get(id)!.child.kill('SIGCONT');
    await impatient.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    const after = kafka(processes.get(survivors[0]!)!.kafkaPort).producer();
    await after.connect();
    try {
      for (let i = 0; i < 5; i++) {
        const value = `after-${i}`;
        const [result] = await after.send({ topic: 'k', acks: -1, messages: [{ partition: 0, value }] });
        expect(result!.errorCode).toBe(0);
        acknowledged.set(Number(result!.baseOffset), value);
      }
    } finally {
      await after.disconnect();
    }
    // Let the follower catch up, then stop the survivors and read what each holds on disk.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const id of survivors) {
      processes.get(id)!.child.kill('SIGTERM');
      await processes.get(id)!.exited;
    }
    for (const id of survivors) {
      const replica = readReplicaFromDataDir(dirs.get(id)!, id, 'k', 0);
      const held = new Map((replica?.records ?? []).map((record) => [record.offset, record.value]));
      const missing = [...acknowledged].filter(([offset, value]) => held.get(offset) !== value);
      expect(missing, `broker ${id} lacks acknowledged records`).toEqual([]);
    }
  }, 180_000);
});
