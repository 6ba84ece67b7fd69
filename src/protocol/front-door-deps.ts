import type { ClusterMetadata } from '../cluster/cluster-metadata.js';
import type { BrokerConfig } from '../common/broker-config.js';
import type { Engine, FollowerFetchObserver } from '../engine/engine-api.js';
import type { ArrowTaskInput, RecordWindowInput, RecordWindowResult } from '../engine/offload-task.js';
import type { GroupCoordinatorApi } from '../groups/group-coordinator-api.js';
import type { AccessControl } from '../security/access-control.js';
import type { CredentialStore } from '../security/credential-store.js';
import type { TransactionCoordinatorApi } from '../transactions/transaction-coordinator-api.js';

/**
 * What every front door (Kafka TCP listener, uWS HTTP + WebSocket app) is
 * given by the broker. Front doors run on the acceptor thread and reach the
 * partitions only through `engine`; tests pass a MemoryEngine instead.
 */
export interface FrontDoorDeps {
  readonly config: BrokerConfig;
  readonly engine: Engine;
  readonly groups: GroupCoordinatorApi;
  /** The transaction coordinator (docs/transactions.md); absent: transactional ids are refused. */
  readonly transactions?: TransactionCoordinatorApi;
  /** The ACL check and store (docs/security.md); absent in tests that need none: everything allowed. */
  readonly access?: AccessControl;
  /** SASL users (docs/security.md); absent: the SCRAM credential APIs answer SECURITY_DISABLED. */
  readonly credentials?: CredentialStore;
  /** Replication's leader side (src/replication), told of follower fetches; absent on a single node. */
  readonly followerFetches?: FollowerFetchObserver;
  /**
   * Cluster mode (`--etcd`): brokers, controller and partition leadership from etcd (docs/cluster.md).
   * Absent on a single node: this broker leads every partition, as it always did.
   */
  readonly cluster?: ClusterMetadata;
  /** Prometheus text exposition of the broker's metrics, rendered on demand. */
  metricsText(): string;
  /** Encodes records as an Arrow IPC stream in the offload pool (never on the acceptor). */
  encodeArrow(input: ArrowTaskInput): Promise<Uint8Array>;
  /** Decodes a window of records in the offload pool, for reads whose batches are compressed. */
  decodeRecordWindow(input: RecordWindowInput): Promise<RecordWindowResult>;
}

/** A started front door: the port it is bound to (useful with port 0) and how to stop it. */
export interface FrontDoor {
  readonly port: number;
  /** Stops accepting, closes connections, and resolves when the port is free. */
  close(): Promise<void>;
}
