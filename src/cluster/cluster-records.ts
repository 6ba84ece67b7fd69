import type { BrokerId, PartitionState } from './partition-state.js';

/**
 * The values kept in etcd under /pyralog/<cluster>/ (docs/cluster.md, Keys),
 * and where each lives. Values are JSON; every decoder checks the shape and
 * answers undefined for a value it does not understand, which the caller logs
 * and ignores: nothing read from etcd is trusted blindly.
 */

/** `brokers/<id>`, on the broker's lease. Its create revision is the broker epoch. */
export interface BrokerRecord {
  brokerId: BrokerId;
  host: string;
  port: number;
  startedMs: number;
  /** Where other brokers fetch from when it is not `host:port` (--inter-broker-listener); absent: there. */
  interBroker?: { host: string; port: number };
}

/** `controller`, on the controller's lease. Its create revision is the controller epoch. */
export interface ControllerRecord {
  brokerId: BrokerId;
  brokerEpoch: number;
}

/** `topics/<name>`. */
export interface TopicRecord {
  topicId: number;
  name: string;
  partitionCount: number;
  replicationFactor: number;
  /** Topic configs given at creation (e.g. unclean.leader.election.enable, min.insync.replicas). */
  config: Record<string, string>;
}

/** `partitions/<topicId>/<p>`: the shared PartitionState and the broker epoch of the leader when elected. */
export interface PartitionRecord extends PartitionState {
  /** The leader's broker epoch when it was elected (-1 without a leader); another epoch means it restarted. */
  leaderBrokerEpoch: number;
}

export type ClusterKey =
  | { kind: 'broker'; brokerId: BrokerId }
  | { kind: 'controller' }
  | { kind: 'topic'; name: string }
  | { kind: 'partition'; topicId: number; partition: number }
  | { kind: 'other' };

/** Key names under one cluster's root. */
export class ClusterKeys {
  readonly root: string;

  constructor(readonly cluster: string) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(cluster)) {
      throw new Error(
        `cluster name must be 1-64 letters, digits, '.', '_' or '-': ${JSON.stringify(cluster)}`,
      );
    }
    this.root = `/pyralog/${cluster}/`;
  }

  broker(id: BrokerId): string {
    return `${this.root}brokers/${id}`;
  }
  get controller(): string {
    return `${this.root}controller`;
  }
  topic(name: string): string {
    return `${this.root}topics/${name}`;
  }
  partition(topicId: number, partition: number): string {
    return `${this.root}partitions/${topicId}/${partition}`;
  }
  /** The prefix of every partition key of a topic. */
  partitionsOf(topicId: number): string {
    return `${this.root}partitions/${topicId}/`;
  }
  get topicIdCounter(): string {
    return `${this.root}ids/topic`;
  }
  /** The end of the last block of producer ids handed out (producer-id-blocks.ts). */
  get producerIdCounter(): string {
    return `${this.root}ids/producer`;
  }

  parse(key: string): ClusterKey {
    if (!key.startsWith(this.root)) return { kind: 'other' };
    const rest = key.slice(this.root.length);
    if (rest === 'controller') return { kind: 'controller' };
    const slash = rest.indexOf('/');
    const section = rest.slice(0, slash);
    const tail = rest.slice(slash + 1);
    if (slash > 0 && section === 'brokers' && /^\d+$/.test(tail))
      return { kind: 'broker', brokerId: Number(tail) };
    if (slash > 0 && section === 'topics' && tail !== '') return { kind: 'topic', name: tail };
    const match = section === 'partitions' ? /^(\d+)\/(\d+)$/.exec(tail) : null;
    if (match !== null) return { kind: 'partition', topicId: Number(match[1]), partition: Number(match[2]) };
    return { kind: 'other' };
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isInt(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function isBrokerList(value: unknown): value is BrokerId[] {
  return Array.isArray(value) && value.every((id) => isInt(id, 0)) && new Set(value).size === value.length;
}

export function decodeBrokerRecord(text: string): BrokerRecord | undefined {
  const o = parseObject(text);
  if (o === undefined || !isInt(o.brokerId, 0) || typeof o.host !== 'string' || !isInt(o.port, 0))
    return undefined;
  const peer =
    typeof o.interBroker === 'object' && o.interBroker !== null
      ? (o.interBroker as Record<string, unknown>)
      : null;
  return {
    brokerId: o.brokerId,
    host: o.host,
    port: o.port,
    startedMs: isInt(o.startedMs, 0) ? o.startedMs : 0,
    ...(peer !== null && typeof peer.host === 'string' && isInt(peer.port, 1)
      ? { interBroker: { host: peer.host, port: peer.port } }
      : {}),
  };
}

export function decodeControllerRecord(text: string): ControllerRecord | undefined {
  const o = parseObject(text);
  if (o === undefined || !isInt(o.brokerId, 0) || !isInt(o.brokerEpoch, 0)) return undefined;
  return { brokerId: o.brokerId, brokerEpoch: o.brokerEpoch };
}

export function decodeTopicRecord(text: string): TopicRecord | undefined {
  const o = parseObject(text);
  if (
    o === undefined ||
    !isInt(o.topicId, 0) ||
    typeof o.name !== 'string' ||
    !isInt(o.partitionCount, 1) ||
    !isInt(o.replicationFactor, 1)
  ) {
    return undefined;
  }
  const config: Record<string, string> = {};
  if (typeof o.config === 'object' && o.config !== null) {
    for (const [name, value] of Object.entries(o.config)) if (typeof value === 'string') config[name] = value;
  }
  return {
    topicId: o.topicId,
    name: o.name,
    partitionCount: o.partitionCount,
    replicationFactor: o.replicationFactor,
    config,
  };
}

export function decodePartitionRecord(text: string): PartitionRecord | undefined {
  const o = parseObject(text);
  if (
    o === undefined ||
    !isInt(o.topicId, 0) ||
    typeof o.topic !== 'string' ||
    !isInt(o.partition, 0) ||
    !isBrokerList(o.replicas) ||
    o.replicas.length === 0 ||
    !isInt(o.leader, -1) ||
    !isInt(o.leaderEpoch, 0) ||
    !isBrokerList(o.isr) ||
    !isInt(o.leaderBrokerEpoch, -1)
  ) {
    return undefined;
  }
  return {
    topicId: o.topicId,
    topic: o.topic,
    partition: o.partition,
    replicas: o.replicas,
    leader: o.leader,
    leaderEpoch: o.leaderEpoch,
    isr: o.isr,
    leaderBrokerEpoch: o.leaderBrokerEpoch,
  };
}

/** The PartitionState part of a record (what the data path is given; no control-plane fields). */
export function partitionStateOf(record: PartitionRecord): PartitionState {
  return {
    topicId: record.topicId,
    topic: record.topic,
    partition: record.partition,
    replicas: record.replicas,
    leader: record.leader,
    leaderEpoch: record.leaderEpoch,
    isr: record.isr,
  };
}

export function encodeRecord(
  record: BrokerRecord | ControllerRecord | TopicRecord | PartitionRecord,
): string {
  return JSON.stringify(record);
}
