import { type Acks, type ProduceOutcome, produceFailure } from '../../src/engine/engine-api.js';
import { GroupCoordinator, type GroupCoordinatorOptions } from '../../src/groups/group-coordinator.js';
import type {
  JoinGroupRequest,
  JoinGroupResult,
  OffsetCommitRequest,
} from '../../src/groups/group-coordinator-api.js';
import { MemoryEngine } from '../support/memory-engine.js';

/** Shared pieces of the group coordinator tests: requests with defaults and coordinators that get closed. */

export const GROUP = 'g';

export const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

export function joinRequest(memberId: string, overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: GROUP,
    memberId,
    sessionTimeoutMs: 400,
    rebalanceTimeoutMs: 300,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: bytes(1) }],
    clientId: 'test',
    clientHost: '127.0.0.1',
    ...overrides,
  };
}

export interface CommitPartition {
  topic?: string;
  partition: number;
  offset: number;
  metadata?: string | null;
}

export function commitRequest(
  generationId: number,
  memberId: string,
  partitions: readonly CommitPartition[],
  groupId = GROUP,
): OffsetCommitRequest {
  const byTopic = new Map<string, { partition: number; offset: number; metadata: string | null }[]>();
  for (const p of partitions) {
    const topic = p.topic ?? 't';
    const list = byTopic.get(topic) ?? [];
    list.push({ partition: p.partition, offset: p.offset, metadata: p.metadata ?? null });
    byTopic.set(topic, list);
  }
  return {
    groupId,
    generationId,
    memberId,
    topics: [...byTopic].map(([topic, list]) => ({ topic, partitions: list })),
  };
}

/** Every partition's error code of a commit answer, in request order. */
export function codesOf(result: { topics: { partitions: { errorCode: number }[] }[] }): number[] {
  return result.topics.flatMap((topic) => topic.partitions.map((p) => p.errorCode));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the promise's value, or with 'pending' if it has not settled within `ms`. */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([promise, pending]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens coordinators and closes every one of them after each test. */
export class Coordinators {
  private readonly opened: GroupCoordinator[] = [];

  async start(engine = new MemoryEngine(), options?: GroupCoordinatorOptions): Promise<GroupCoordinator> {
    const coordinator = await GroupCoordinator.open(engine, options);
    this.opened.push(coordinator);
    return coordinator;
  }

  async closeAll(): Promise<void> {
    for (const coordinator of this.opened.splice(0)) await coordinator.close();
  }
}

/** A lone first member that joins and syncs (as leader, assigning itself `assignment`): a Stable group. */
export async function stableLoneMember(
  coordinator: GroupCoordinator,
  overrides: Partial<JoinGroupRequest> = {},
  assignment = bytes(0),
): Promise<JoinGroupResult> {
  const joined = await coordinator.joinGroup(joinRequest('', overrides));
  await coordinator.syncGroup({
    groupId: overrides.groupId ?? GROUP,
    generationId: joined.generationId,
    memberId: joined.memberId,
    assignments: [{ memberId: joined.memberId, assignment }],
  });
  return joined;
}

/** A MemoryEngine whose produce can be made to fail, to show that failed commits stay invisible. */
export class FaultyEngine extends MemoryEngine {
  failProduceWith: ProduceOutcome['errorCode'] | null = null;
  produceCalls = 0;

  override async produce(
    topic: string,
    partition: number,
    batch: Uint8Array,
    acks: Acks,
  ): Promise<ProduceOutcome> {
    this.produceCalls++;
    if (this.failProduceWith === null) return super.produce(topic, partition, batch, acks);
    return produceFailure(this.failProduceWith, 'injected');
  }
}
