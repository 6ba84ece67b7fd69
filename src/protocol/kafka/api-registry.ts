import { addOffsetsToTxn } from './add-offsets-to-txn.js';
import { addPartitionsToTxn } from './add-partitions-to-txn.js';
import { alterConfigs } from './alter-configs.js';
import { alterUserScramCredentials } from './alter-user-scram-credentials.js';
import { type RegisteredApi, registerApi } from './api.js';
import { apiVersions } from './api-versions.js';
import { createAcls } from './create-acls.js';
import { createPartitions } from './create-partitions.js';
import { createTopics } from './create-topics.js';
import { deleteAcls } from './delete-acls.js';
import { deleteGroups } from './delete-groups.js';
import { deleteRecords } from './delete-records.js';
import { deleteTopics } from './delete-topics.js';
import { describeAcls } from './describe-acls.js';
import { describeCluster } from './describe-cluster.js';
import { describeConfigs } from './describe-configs.js';
import { describeGroups } from './describe-groups.js';
import { describeLogDirs } from './describe-log-dirs.js';
import { describeTransactions } from './describe-transactions.js';
import { describeUserScramCredentials } from './describe-user-scram-credentials.js';
import { electLeaders } from './elect-leaders.js';
import { endTxn } from './end-txn.js';
import { fetch } from './fetch.js';
import { findCoordinator } from './find-coordinator.js';
import { heartbeat } from './heartbeat.js';
import { incrementalAlterConfigs } from './incremental-alter-configs.js';
import { initProducerId } from './init-producer-id.js';
import { joinGroup } from './join-group.js';
import { leaveGroup } from './leave-group.js';
import { listGroups } from './list-groups.js';
import { listOffsets } from './list-offsets.js';
import { listTransactions } from './list-transactions.js';
import { metadata } from './metadata.js';
import { offsetCommit } from './offset-commit.js';
import { offsetDelete } from './offset-delete.js';
import { offsetFetch } from './offset-fetch.js';
import { offsetForLeaderEpoch } from './offset-for-leader-epoch.js';
import { produce } from './produce.js';
import { saslAuthenticate } from './sasl-authenticate.js';
import { saslHandshake } from './sasl-handshake.js';
import { syncGroup } from './sync-group.js';
import { txnOffsetCommit } from './txn-offset-commit.js';

/**
 * Every Kafka API this broker serves. ApiVersions advertises exactly this
 * list, so a version is never promised that no code decodes.
 */
export const kafkaApis: readonly RegisteredApi[] = [
  registerApi(produce),
  registerApi(fetch),
  registerApi(listOffsets),
  registerApi(metadata),
  registerApi(offsetCommit),
  registerApi(offsetFetch),
  registerApi(findCoordinator),
  registerApi(joinGroup),
  registerApi(heartbeat),
  registerApi(leaveGroup),
  registerApi(syncGroup),
  registerApi(describeGroups),
  registerApi(listGroups),
  registerApi(apiVersions),
  registerApi(createTopics),
  registerApi(deleteTopics),
  registerApi(initProducerId),
  registerApi(addPartitionsToTxn),
  registerApi(addOffsetsToTxn),
  registerApi(endTxn),
  registerApi(txnOffsetCommit),
  registerApi(describeAcls),
  registerApi(createAcls),
  registerApi(deleteAcls),
  registerApi(describeConfigs),
  registerApi(deleteRecords),
  registerApi(alterConfigs),
  registerApi(describeLogDirs),
  registerApi(createPartitions),
  registerApi(deleteGroups),
  registerApi(electLeaders),
  registerApi(incrementalAlterConfigs),
  registerApi(offsetDelete),
  registerApi(describeCluster),
  registerApi(describeTransactions),
  registerApi(listTransactions),
  registerApi(saslHandshake),
  registerApi(saslAuthenticate),
  registerApi(describeUserScramCredentials),
  registerApi(alterUserScramCredentials),
  registerApi(offsetForLeaderEpoch),
];

/** Lookup by API key (at most a few dozen keys: a dense array). */
export const kafkaApisByKey: readonly (RegisteredApi | undefined)[] = (() => {
  const byKey: (RegisteredApi | undefined)[] = [];
  for (const api of kafkaApis) byKey[api.apiKey] = api;
  return byKey;
})();
