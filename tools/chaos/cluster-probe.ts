import {
  ClusterKeys,
  decodeControllerRecord,
  decodePartitionRecord,
  decodeTopicRecord,
  type PartitionRecord,
} from '../../src/cluster/cluster-records.js';
import { EtcdClient } from '../../src/cluster/etcd/etcd-client.js';

/**
 * What the cluster's etcd says now, read by the chaos checker straight from
 * the etcd members (not through the brokers' fault proxies): a partition's
 * leader, epoch and ISR, and which broker is controller. Every read has a
 * deadline; a read that fails answers undefined (e.g. while etcd is stopped).
 */
export class ClusterProbe {
  private readonly client: EtcdClient;
  private readonly keys: ClusterKeys;

  constructor(endpoints: readonly string[], clusterName: string) {
    this.client = new EtcdClient({ endpoints, requestTimeoutMs: 2000 });
    this.keys = new ClusterKeys(clusterName);
  }

  async partition(topic: string, partition: number): Promise<PartitionRecord | undefined> {
    try {
      const topicKv = await this.client.get(this.keys.topic(topic));
      const record = topicKv === undefined ? undefined : decodeTopicRecord(topicKv.value);
      if (record === undefined) return undefined;
      const kv = await this.client.get(this.keys.partition(record.topicId, partition));
      return kv === undefined ? undefined : decodePartitionRecord(kv.value);
    } catch {
      return undefined;
    }
  }

  /** The partition's leader, or undefined while it has none (or etcd cannot say). */
  async leader(topic: string, partition: number): Promise<number | undefined> {
    const state = await this.partition(topic, partition);
    return state === undefined || state.leader < 0 ? undefined : state.leader;
  }

  async controller(): Promise<number | undefined> {
    try {
      const kv = await this.client.get(this.keys.controller);
      return kv === undefined ? undefined : decodeControllerRecord(kv.value)?.brokerId;
    } catch {
      return undefined;
    }
  }

  /** Polls `probe` every 100 ms until it answers something other than undefined, or `timeoutMs` passed. */
  static async until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await probe();
      if (found !== undefined || Date.now() >= deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
