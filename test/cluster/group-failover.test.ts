import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { OFFSETS_TOPIC, offsetsPartitionFor } from '../../src/groups/offset-store.js';
import { CLUSTER_OFFSETS_PARTITIONS } from '../../src/groups/offsets-topic.js';
import { ApiKey } from '../../src/protocol/kafka/api.js';
import {
  findCoordinatorRequestDescription,
  findCoordinatorResponseDescription,
} from '../../src/protocol/kafka/find-coordinator.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import {
  offsetCommitRequestDescription,
  offsetCommitResponseDescription,
} from '../../src/protocol/kafka/offset-commit.js';
import { eventually, type ServeCluster, startServeCluster } from '../support/broker-cluster.js';
import { etcdAvailable } from '../support/etcd.js';
import { KafkaWire } from '../support/kafka-wire.js';
import { runCommand } from '../support/run-command.js';

/**
 * A consumer group surviving its coordinator's broker dying (issue 14):
 * three `pyralog serve --etcd` processes; `__consumer_offsets` is created in
 * etcd on the first FindCoordinator and replicated like any topic. A kafkajs
 * consumer commits after every record; right after one commit is
 * acknowledged, the group's coordinator (the leader of its offsets
 * partition) is SIGKILLed. The group must move to the new leader of that
 * partition, which loads the committed offsets, and the consumer must resume
 * from them: after the kill nothing below the last acknowledged commit is
 * read again, and every record is read at least once.
 */

const GROUP = 'resilient-readers';
const TOPIC = 'work';
const RECORDS = 40;
/** The consumer pauses after committing this offset's record, and the coordinator dies then. */
const KILL_AFTER_OFFSET = 19;

const findRequest = messageCodec<unknown>(findCoordinatorRequestDescription);
const findResponse = messageCodec<{ errorCode: number; nodeId: number }>(findCoordinatorResponseDescription);

/** FindCoordinator (v1) for the group, asked of one broker: the coordinator's id, or the error code. */
async function findCoordinator(port: number): Promise<{ errorCode: number; nodeId: number }> {
  const wire = await KafkaWire.open(port);
  try {
    wire.request(ApiKey.FIND_COORDINATOR, 1, 1, (w) =>
      findRequest.encode(w, { key: GROUP, keyType: 0, coordinatorKeys: [] }, 1),
    );
    const answer = await wire.next(5000);
    if (answer === null) throw new Error('no FindCoordinator answer');
    return findResponse.decode(answer.reader, 1);
  } finally {
    wire.close();
  }
}

const commitRequest = messageCodec<unknown>(offsetCommitRequestDescription);
const commitResponse = messageCodec<{ topics: { partitions: { errorCode: number }[] }[] }>(
  offsetCommitResponseDescription,
);

/** OffsetCommit (v5) of `offset` for partition 0 of the topic, outside any generation: the answer's code. */
async function commitAt(port: number, offset: number): Promise<number> {
  const wire = await KafkaWire.open(port);
  try {
    wire.request(ApiKey.OFFSET_COMMIT, 5, 1, (w) =>
      commitRequest.encode(
        w,
        {
          groupId: GROUP,
          generationId: -1,
          memberId: '',
          topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset, metadata: null }] }],
        },
        5,
      ),
    );
    const answer = await wire.next(30_000);
    if (answer === null) throw new Error('no OffsetCommit answer');
    return commitResponse.decode(answer.reader, 5).topics[0]!.partitions[0]!.errorCode;
  } finally {
    wire.close();
  }
}

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(!etcdAvailable)('a consumer group across its coordinator dying', () => {
  let cluster: ServeCluster | undefined;
  /** The broker the first test killed (the second starts it again). */
  let firstVictim = -1;
  afterAll(async () => {
    await cluster?.stop();
  });
  const portOf = (id: number): number => cluster!.processes.get(id)!.kafkaPort;
  const kafka = (ids: readonly number[]): Kafka =>
    new Kafka({
      clientId: 'group-failover',
      brokers: ids.map((id) => `127.0.0.1:${portOf(id)}`),
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 200, maxRetryTime: 2000 },
    });
  const offsetsPartition = offsetsPartitionFor(GROUP, CLUSTER_OFFSETS_PARTITIONS);

  it('given a kafkajs group committing after every record, when its coordinator is SIGKILLed, then the group moves to the new leader of its offsets partition and resumes from the committed offset', async () => {
    cluster = await startServeCluster({ name: 'groups' });
    const { processes } = cluster;

    const admin = kafka([1]).admin();
    await admin.connect();
    await eventually(
      async () => (await admin.describeCluster()).brokers.length === 3,
      30_000,
      'three brokers',
    );
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }] });
    const producer = kafka([1, 2, 3]).producer();
    await producer.connect();
    for (let i = 0; i < RECORDS; i += 10) {
      const messages = Array.from({ length: 10 }, (_, j) => ({ partition: 0, value: `r-${i + j}` }));
      const [result] = await producer.send({ topic: TOPIC, acks: -1, messages });
      expect(result!.errorCode).toBe(0);
    }
    await producer.disconnect();

    // The first FindCoordinator creates __consumer_offsets in etcd (retriable answers until it has a leader).
    let coordinator = -1;
    await eventually(
      async () => {
        const found = await findCoordinator(portOf(1));
        coordinator = found.nodeId;
        return found.errorCode === KafkaErrorCode.NONE;
      },
      30_000,
      'a coordinator for the group',
    );
    const offsetsMetadata = await admin.fetchTopicMetadata({ topics: [OFFSETS_TOPIC] });
    const led = offsetsMetadata.topics[0]!.partitions.find((p) => p.partitionId === offsetsPartition)!;
    expect(offsetsMetadata.topics[0]!.partitions).toHaveLength(CLUSTER_OFFSETS_PARTITIONS);
    expect(led.replicas).toHaveLength(3);
    expect(led.leader).toBe(coordinator);
    await admin.disconnect();

    const deliveries: number[] = [];
    let paused: () => void = () => undefined;
    const reachedKillPoint = new Promise<void>((resolve) => {
      paused = resolve;
    });
    let resume: () => void = () => undefined;
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const consumer = kafka([1, 2, 3]).consumer({ groupId: GROUP, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          const offset = Number(message.offset);
          deliveries.push(offset);
          await consumer.commitOffsets([{ topic, partition, offset: String(offset + 1) }]);
          if (offset === KILL_AFTER_OFFSET && deliveries.filter((o) => o === offset).length === 1) {
            paused();
            await resumed;
          }
        },
      });
      await within(reachedKillPoint, 60_000, 'the consumer reaching the kill point');
      // The commit of offset 20 was acknowledged (acks=all on the offsets partition); its coordinator dies now.
      firstVictim = coordinator;
      const victim = processes.get(coordinator)!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      const deliveredBeforeKill = deliveries.length;
      resume();
      const survivors = [1, 2, 3].filter((id) => id !== coordinator);
      await eventually(
        () => Array.from({ length: RECORDS }, (_, i) => i).every((offset) => deliveries.includes(offset)),
        90_000,
        'every record delivered after the failover',
      );
      // The group resumed from the commit acknowledged before the kill: nothing below it came again
      // (records after it may come more than once: at least once).
      const afterKill = deliveries.slice(deliveredBeforeKill);
      expect(Math.min(...afterKill)).toBe(KILL_AFTER_OFFSET + 1);
      // The group's coordinator is now the new leader of its offsets partition, on a surviving broker.
      let moved = -1;
      await eventually(
        async () => {
          const found = await findCoordinator(portOf(survivors[0]!));
          moved = found.nodeId;
          return found.errorCode === KafkaErrorCode.NONE;
        },
        20_000,
        'the new coordinator',
      );
      expect(survivors).toContain(moved);
      const check = kafka(survivors).admin();
      await check.connect();
      try {
        const after = await check.fetchTopicMetadata({ topics: [OFFSETS_TOPIC] });
        expect(after.topics[0]!.partitions.find((p) => p.partitionId === offsetsPartition)!.leader).toBe(
          moved,
        );
        // The last commit (after every record) is what the new coordinator holds.
        await eventually(
          async () => {
            const [committed] = await check.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
            return committed?.partitions[0]?.offset === String(RECORDS);
          },
          20_000,
          'the final committed offset on the new coordinator',
        );
      } finally {
        await check.disconnect();
      }
    } finally {
      resume();
      await consumer.disconnect().catch(() => undefined);
    }
  }, 240_000);

  it('given the killed broker back and kcat (librdkafka) consuming in the group, when the new coordinator is SIGKILLed between two kcat sessions, then the second session starts exactly at the first one’s commit', async () => {
    expect(firstVictim).toBeGreaterThan(0);
    const { processes } = cluster!;
    await cluster!.restart(firstVictim);
    const admin = kafka([1, 2, 3]).admin();
    await admin.connect();
    try {
      // The restarted broker catches up and is back in the ISR of the data and the group's offsets partition.
      await eventually(
        async () => {
          const metadata = await admin.fetchTopicMetadata({ topics: [TOPIC, OFFSETS_TOPIC] });
          const isrOf = (topic: string, partition: number) =>
            metadata.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionId === partition)
              ?.isr.length ?? 0;
          return isrOf(TOPIC, 0) === 3 && isrOf(OFFSETS_TOPIC, offsetsPartition) === 3;
        },
        60_000,
        'the restarted broker back in the ISRs',
      );
    } finally {
      await admin.disconnect();
    }
    const producer = kafka([1, 2, 3]).producer();
    await producer.connect();
    const messages = Array.from({ length: RECORDS }, (_, i) => ({ partition: 0, value: `r-${RECORDS + i}` }));
    const [sent] = await producer.send({ topic: TOPIC, acks: -1, messages });
    expect(sent!.errorCode).toBe(0);
    await producer.disconnect();

    const kcatSession = (ids: readonly number[]): Promise<number[]> =>
      runCommand(
        'kcat',
        [
          '-b',
          ids.map((id) => `127.0.0.1:${portOf(id)}`).join(','),
          '-G',
          GROUP,
          '-X',
          'auto.offset.reset=earliest',
          '-c',
          String(RECORDS / 2),
          '-e',
          '-q',
          '-f',
          '%o\\n',
          TOPIC,
        ],
        '',
        90_000,
      ).then((out) =>
        out
          .trim()
          .split('\n')
          .filter((line) => line.length > 0)
          .map(Number),
      );
    const range = (from: number, count: number): number[] =>
      Array.from({ length: count }, (_, i) => from + i);
    // The kafkajs session committed offset 40: kcat goes on from there and commits as it closes.
    expect(await kcatSession([1, 2, 3])).toEqual(range(RECORDS, RECORDS / 2));
    let coordinator = -1;
    await eventually(
      async () => {
        const found = await findCoordinator(portOf(firstVictim));
        coordinator = found.nodeId;
        return found.errorCode === KafkaErrorCode.NONE;
      },
      20_000,
      'the coordinator',
    );
    const victim = processes.get(coordinator)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const survivors = [1, 2, 3].filter((id) => id !== coordinator);
    expect(await kcatSession(survivors)).toEqual(range(RECORDS + RECORDS / 2, RECORDS / 2));
  }, 240_000);

  it('given the only in-sync follower of the group’s offsets partition paused, should not acknowledge a commit until the follower holds it (acks=all)', async () => {
    const { processes } = cluster!;
    const live = [1, 2, 3].filter((id) => {
      const child = processes.get(id)!.child;
      return child.exitCode === null && child.signalCode === null;
    });
    expect(live).toHaveLength(2);
    let coordinator = -1;
    await eventually(
      async () => {
        const found = await findCoordinator(portOf(live[0]!));
        coordinator = found.nodeId;
        return found.errorCode === KafkaErrorCode.NONE;
      },
      20_000,
      'the coordinator',
    );
    const follower = live.find((id) => id !== coordinator)!;
    const admin = kafka(live).admin();
    await admin.connect();
    try {
      await eventually(
        async () => {
          const metadata = await admin.fetchTopicMetadata({ topics: [OFFSETS_TOPIC] });
          const state = metadata.topics[0]!.partitions.find((p) => p.partitionId === offsetsPartition)!;
          return state.leader === coordinator && state.isr.includes(follower);
        },
        30_000,
        'the follower in the ISR of the offsets partition',
      );
    } finally {
      await admin.disconnect();
    }
    expect(await commitAt(portOf(coordinator), 100)).toBe(KafkaErrorCode.NONE);
    const paused = processes.get(follower)!.child;
    paused.kill('SIGSTOP');
    let pending: Promise<number>;
    try {
      pending = commitAt(portOf(coordinator), 101);
      // Well within replica.lag.time.max.ms: the follower stays in the ISR, so the commit must wait for it.
      const early = await Promise.race([
        pending.then((code) => `answered ${code}`),
        new Promise<string>((resolve) => setTimeout(() => resolve('waiting'), 1500)),
      ]);
      expect(early).toBe('waiting');
    } finally {
      paused.kill('SIGCONT');
    }
    expect(await pending).toBe(KafkaErrorCode.NONE);
    const check = kafka(live).admin();
    await check.connect();
    try {
      const [committed] = await check.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      expect(committed?.partitions[0]?.offset).toBe('101');
    } finally {
      await check.disconnect();
    }
  }, 120_000);
});
