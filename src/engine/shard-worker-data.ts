import type { FsyncPolicy } from '../common/broker-config.js';
import type { ProducerLimits } from './producer-state.js';
import type { PartitionAssignment } from './shard.js';
import type { WarmUpScratch } from './warm-up-scratch.js';

/** What a shard worker is started with (structured-cloned once, at start). */
export interface ShardWorkerData {
  shardId: number;
  dataDir: string;
  fsync: FsyncPolicy;
  retentionCheckIntervalMs: number;
  producerLimits: ProducerLimits;
  /** The log cleaner's read plus write rate (compacted topics); 0: no limit. */
  cleanerIoBytesPerSecond: number;
  /** This shard's share of the broker's max-active-partitions. */
  maxActivePartitions: number;
  requestRing: SharedArrayBuffer;
  replyRing: SharedArrayBuffer;
  /** The acceptor's native doorbell for the reply ring (src/ring/native-doorbell.ts); -1: it waits in Atomics.waitAsync. */
  replyDoorbell: number;
  metricsBuffer: SharedArrayBuffer;
  /** Partitions to open (and recover) before reporting ready. */
  partitions: PartitionAssignment[];
  /** Set by workerEntry() when running from TypeScript sources. */
  pyralogEntry?: string;
}

/** Control messages between the acceptor and a shard; never used for produce or fetch. */
export type ShardControlMessage =
  | { kind: 'ready' }
  | { kind: 'stop' }
  | { kind: 'stopped' }
  /** A partition went offline (failed open, write or sync): the acceptor logs it. */
  | { kind: 'partition-offline'; topicName: string; partition: number; reason: string }
  /** The start-up warm-up (warm-up-scratch.ts): place the scratch partition; answered warm-up-begun. */
  | { kind: 'warm-up-begin'; scratch: WarmUpScratch }
  | { kind: 'warm-up-begun' }
  /** Delete the scratch partition and put the traffic metrics back; answered warm-up-ended. */
  | { kind: 'warm-up-end' }
  | { kind: 'warm-up-ended'; error: string | null };
