import { availableParallelism } from 'node:os';
import { type Logger, pino } from 'pino';
import type { ClusterAgent } from '../cluster/cluster-agent.js';
import { EtcdAclStore } from '../cluster/etcd-acl-store.js';
import { EtcdCredentialSync } from '../cluster/etcd-credential-sync.js';
import { LateClusterMetadata } from '../cluster/late-cluster-metadata.js';
import type { BrokerConfig } from '../common/broker-config.js';
import {
  isKafkaListener,
  kafkaAuthenticationConfigured,
  type ListenerProtocol,
  usesSasl,
  usesTls,
} from '../common/security-config.js';
import { OffloadPool } from '../engine/offload-pool.js';
import type { ArrowTaskInput, SegmentVerification } from '../engine/offload-task.js';
import { ShardedEngine, type ShardedEngineOptions } from '../engine/sharded-engine.js';
import { GroupCoordinator } from '../groups/group-coordinator.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { clientEngine } from '../protocol/internal-topics.js';
import { MemoryBudget } from '../protocol/memory-budget.js';
import { AccessControl } from '../security/access-control.js';
import type { AclRepository } from '../security/acl-repository.js';
import { AclStore } from '../security/acl-store.js';
import { CredentialStore } from '../security/credential-store.js';
import { HttpAuthenticator } from '../security/http-authenticator.js';
import { isSaslMechanism } from '../security/sasl-server.js';
import { TokenStore } from '../security/token-store.js';
import type { SqlLimits } from '../sql/sql-limits.js';
import { SqlService } from '../sql/sql-service.js';
import { TransactionCoordinator } from '../transactions/transaction-coordinator.js';
import { type ClusterMember, etcdClientOf, joinCluster, LateFollowerFetches } from './cluster-join.js';
import { offsetsLeadership, offsetsRoleListener, warnOfLocalOffsetsTopic } from './groups-wiring.js';
import { type HttpFrontDoor, startHttpServer } from './http-server.js';
import { httpsFilesOf } from './https-files.js';
import { type KafkaFrontDoor, startKafkaListener } from './kafka-listener.js';
import { batchCheckMetrics, budgetMetrics, renderMetrics } from './metrics-exposition.js';
import { renderReplicationMetrics } from './replication-metrics.js';
import { auditSegments } from './segment-audit.js';
import { makeTlsListener, type TlsListener } from './tls-listener.js';
import { type WarmUpReport, warmUp } from './warm-up.js';

/**
 * A whole broker in one process: the engine (shards on worker threads), the
 * consumer group coordinator, the offload pool, and both front doors in the
 * acceptor thread. `stop()` is the graceful path SIGINT and SIGTERM take.
 */
export interface Broker {
  readonly config: BrokerConfig;
  readonly engine: ShardedEngine;
  readonly kafkaPort: number;
  readonly httpPort: number;
  /** Every Kafka listener with the port it bound (the first is kafkaPort). */
  readonly kafkaListeners: readonly { protocol: ListenerProtocol; port: number }[];
  /** The users SASL listeners check against (data dir/security/credentials.json). */
  readonly credentials: CredentialStore;
  /**
   * SIGHUP: re-reads the TLS certificate, key and CA for the Kafka listeners and HTTPS (new
   * handshakes use them; live connections keep theirs) and the credential file. Throws, changing nothing of the part that failed, when a
   * file is bad.
   */
  reloadSecurity(): void;
  /** Cluster mode (`--etcd`): this broker's control plane; null on a single node. */
  readonly cluster: ClusterAgent | null;
  /** With `--verify-segments`: resolves with the damaged segments once all are checked; else with none. */
  readonly segmentAudit: Promise<SegmentVerification[]>;
  stop(): Promise<void>;
}

export interface BrokerOptions {
  logger?: Logger;
  retentionCheckIntervalMs?: number;
  /** Front doors to start; both by default. */
  kafka?: boolean;
  http?: boolean;
}

/** How long a starting broker in cluster mode waits for the ACLs from etcd before it opens its listeners. */
const ACL_LOAD_WAIT_MS = 10_000;

/** Whether any Kafka listener authenticates its clients (then anonymous access is off by default). */
function authenticationConfigured(config: BrokerConfig): boolean {
  return kafkaAuthenticationConfigured(config.security);
}

export async function startBroker(config: BrokerConfig, options: BrokerOptions = {}): Promise<Broker> {
  const logger = options.logger ?? pino({ level: config.logLevel }, pino.destination(2));
  // Cluster mode: the etcd client of the ACL store, made (its TLS files read) before anything starts.
  const clustered = config.etcdEndpoints.length > 0;
  const aclEtcdClient = clustered ? etcdClientOf(config) : null;
  const startedMs = Date.now();
  const engineOptions: ShardedEngineOptions = {
    onPartitionOffline: (topic, partition, reason) =>
      logger.error({ topic, partition, reason }, 'partition offline: not served until the broker restarts'),
    onShardFailed: (reason) =>
      logger.error({ reason }, 'shard down: it kept dying and is no longer restarted'),
  };
  engineOptions.retentionCheckIntervalMs =
    options.retentionCheckIntervalMs ?? config.logRetentionCheckIntervalMs;
  const engine = await ShardedEngine.start(config, engineOptions);
  if (config.etcdEndpoints.length > 0) {
    // Until it has joined the cluster this broker cannot hand out producer ids unique across brokers.
    engine.useProducerIdSource(() => Promise.reject(new Error('not in the cluster yet: no producer ids')));
  }
  const offload = new OffloadPool(Math.max(1, Math.floor(availableParallelism() / 2)));
  // Its worker loads Arrow and the codecs while the groups open; the listeners open only after both.
  const offloadReady = offload.ready();
  offloadReady.catch(() => undefined); // awaited below, after the groups; a failure is thrown there
  // Cluster mode: the front doors see the cluster once this broker has joined it (after its Kafka port is bound).
  const clusterMetadata = clustered ? new LateClusterMetadata(config.nodeId) : undefined;
  // In a cluster a group is coordinated by the leader of its __consumer_offsets partition (groups-wiring.ts).
  if (clusterMetadata !== undefined) warnOfLocalOffsetsTopic(engine, logger);
  const groups = await GroupCoordinator.open(engine, {
    log: logger,
    ...(clusterMetadata === undefined ? {} : { leadership: offsetsLeadership(clusterMetadata) }),
  });
  // Reads __transaction_state back and resumes transactions that were writing their markers.
  const transactions = await TransactionCoordinator.open(engine, {
    nextProducerId: () => engine.nextProducerId(),
    writeMarker: (marker) => engine.writeTxnMarker(marker),
    offsets: groups,
    maxTimeoutMs: config.transactionMaxTimeoutMs,
    log: logger,
  });
  await offloadReady;
  // DuckDB starts in its worker with the first query, not here: a broker nobody queries pays nothing.
  const sql = new SqlService(engine, sqlLimitsOf(config), config.fetchMaxBytes, config.sqlIsolation);
  const budget = new MemoryBudget(config.memoryBudgetBytes);
  const stops: (() => Promise<void>)[] = [];
  const kafkaDoors: KafkaFrontDoor[] = [];
  const kafkaListeners: { protocol: ListenerProtocol; port: number }[] = [];
  const credentials = CredentialStore.open(config.dataDir);
  let tls: TlsListener | null = null;
  let httpDoor: HttpFrontDoor | null = null;
  let kafkaPort = -1;
  let httpPort = -1;
  // Cluster mode keeps the ACLs in etcd, shared by every broker; a single node in its data directory.
  const fileAcls = new AclStore(config.dataDir);
  const etcdAcls =
    aclEtcdClient !== null
      ? new EtcdAclStore({
          client: aclEtcdClient,
          cluster: config.clusterName,
          onChange: () => access.refresh(),
          onError: (message) => logger.warn({ acls: true }, message),
        })
      : null;
  if (etcdAcls !== null && fileAcls.list().length > 0) {
    logger.warn(
      { file: `${config.dataDir}/security/acls.json`, count: fileAcls.list().length },
      'cluster mode reads the ACLs from etcd: the ACL file in the data directory is not used',
    );
  }
  const aclRepository: AclRepository = etcdAcls ?? fileAcls;
  const access: AccessControl = new AccessControl(aclRepository, {
    superUsers: config.superUsers,
    // No listener authenticates yet unless configured to (docs/security.md): everyone is allowed
    // what no ACL names, as before ACLs existed, unless the operator says otherwise.
    allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound ?? !authenticationConfigured(config),
    audit: (fields, message) => logger.warn({ audit: true, ...fields }, message),
  });
  // Cluster mode: the users (SCRAM credentials) are kept equal to etcd's, shared by every broker.
  const etcdUsers =
    aclEtcdClient === null
      ? null
      : new EtcdCredentialSync({
          client: aclEtcdClient,
          cluster: config.clusterName,
          store: credentials,
          onError: (message) => logger.warn({ users: true }, message),
        });
  if (etcdAcls !== null && etcdUsers !== null) {
    etcdAcls.start();
    etcdUsers.start();
    // Until they are read every check but a super user's is denied (fail closed): wait a little for them.
    const waitMs = Math.min(config.requestTimeoutMs, ACL_LOAD_WAIT_MS);
    const [aclsLoaded, usersLoaded] = await Promise.all([
      etcdAcls.waitLoaded(waitMs),
      etcdUsers.waitLoaded(waitMs),
    ]);
    if (!aclsLoaded) logger.warn('the ACLs are not read from etcd yet: requests are denied until they are');
    if (!usersLoaded)
      logger.warn('the users are not read from etcd yet: this broker serves its own file until they are');
  }
  // `pyralog acl --data` changes the file under a running broker: picked up within a second.
  const aclWatch = setInterval(() => {
    try {
      access.reloadIfChanged();
    } catch (error) {
      logger.error({ error: String(error) }, 'the ACL file could not be read again; the ACLs in memory stay');
    }
  }, 1000);
  aclWatch.unref();
  const followerFetches = clusterMetadata === undefined ? undefined : new LateFollowerFetches();
  let member: ClusterMember | null = null;
  const deps: FrontDoorDeps = {
    config,
    ...(clusterMetadata === undefined ? {} : { cluster: clusterMetadata }),
    ...(followerFetches === undefined ? {} : { followerFetches }),
    access,
    credentials,
    engine: clientEngine(engine, (topic) => groups.forgetTopic(topic)),
    groups,
    transactions,
    metricsText: () =>
      renderMetrics(engine, () => [
        ...budgetMetrics(budget),
        ...batchCheckMetrics(engine.batchCheckCounts()),
      ]) + (member === null ? '' : renderReplicationMetrics(member.replicas)),
    encodeArrow: (input: ArrowTaskInput) => offload.encodeArrow(input),
    decodeRecordWindow: (input) => offload.recordWindow(input),
  };
  // Synthetic traffic on a scratch partition before any client can connect (warm-up.ts).
  const warmUpReport = config.warmUp ? await warmUpOrReport(engine, deps, logger) : null;
  try {
    const listeners = config.security.listeners;
    if (options.kafka !== false && listeners === null) {
      const kafka = await startKafkaListener(deps, budget);
      kafkaPort = kafka.port;
      kafkaDoors.push(kafka);
      kafkaListeners.push({ protocol: 'PLAINTEXT', port: kafka.port });
    }
    if (options.kafka !== false && listeners !== null) {
      const security = config.security;
      const mechanisms = security.saslMechanisms.filter(isSaslMechanism);
      for (const spec of listeners.filter(isKafkaListener)) {
        if (usesTls(spec.protocol)) tls ??= makeTlsListener(security);
        const kafka = await startKafkaListener(deps, budget, {
          host: spec.host,
          port: spec.port,
          tls: usesTls(spec.protocol) ? tls : null,
          sasl: usesSasl(spec.protocol)
            ? {
                mechanisms,
                credentials,
                reauthMs: security.reauthMs,
                failureDelayMs: security.authenticationFailureDelayMs,
                handshakeTimeoutMs: security.authenticationTimeoutMs,
              }
            : null,
        });
        if (kafkaDoors.length === 0) kafkaPort = kafka.port;
        kafkaDoors.push(kafka);
        kafkaListeners.push({ protocol: spec.protocol, port: kafka.port });
      }
    }
    const httpListener = listeners?.find((spec) => !isKafkaListener(spec));
    if (options.http !== false && (listeners === null || httpListener !== undefined)) {
      const httpDeps =
        httpListener === undefined
          ? deps
          : { ...deps, config: { ...config, host: httpListener.host, httpPort: httpListener.port } };
      const authenticator = new HttpAuthenticator(
        credentials,
        new TokenStore(config.dataDir),
        config.httpAnonymous || !authenticationConfigured(config),
      );
      const https = httpListener?.protocol === 'HTTPS';
      if (https && config.security.tlsClientAuth === 'require') {
        logger.warn(
          'HTTPS asks for client certificates and refuses ones that do not verify, but cannot require one ' +
            '(uWebSockets.js has no such option): HTTP clients are identified by their Basic or bearer credentials',
        );
      }
      const http = await startHttpServer(httpDeps, {
        sql,
        authenticator,
        ...(https ? { tls: httpsFilesOf(config.security) } : {}),
      });
      httpDoor = http;
      httpPort = http.port;
      stops.push(() => http.close());
    }
    if (clusterMetadata !== undefined) {
      // As the Kafka listener decides what it advertises: the bound port unless another was asked for.
      const advertisedPort =
        config.kafkaPort === 0 || config.advertisedPort === 0 || config.advertisedPort === config.kafkaPort
          ? kafkaPort
          : config.advertisedPort;
      const interBroker = config.security.interBrokerListener;
      const interBrokerPort =
        interBroker === null ? undefined : kafkaListeners.find((l) => l.protocol === interBroker)?.port;
      member = await joinCluster(
        config,
        engine,
        logger,
        advertisedPort,
        offsetsRoleListener(groups, config.nodeId, logger),
        interBrokerPort,
      );
      clusterMetadata.attach(member.agent);
      followerFetches?.attach(member.replicas);
    }
  } catch (error) {
    await member?.leave();
    for (const door of kafkaDoors) await door.close();
    for (const stop of stops.reverse()) await stop();
    await transactions.close();
    await groups.close();
    await offload.close();
    clearInterval(aclWatch);
    etcdAcls?.stop();
    etcdUsers?.stop();
    await engine.stop();
    throw error;
  }
  logger.info(
    {
      kafkaPort,
      httpPort,
      shards: config.shardCount,
      dataDir: config.dataDir,
      startupMs: Date.now() - startedMs,
      ...(warmUpReport === null
        ? {}
        : { warmUpMs: warmUpReport.elapsedMs, warmUpRequests: warmUpReport.requests }),
      ...(member === null
        ? {}
        : { brokerId: config.nodeId, cluster: config.clusterName, brokerEpoch: member.agent.brokerEpoch() }),
    },
    'pyralog started',
  );
  const audit = config.verifySegmentsOnStart
    ? auditSegments(config.dataDir, offload).then(
        (problems) => {
          for (const problem of problems) logger.error(problem, 'segment verification found damage');
          logger.info({ damagedSegments: problems.length }, 'segment verification finished');
          return problems;
        },
        (error: unknown) => {
          logger.error({ error: String(error) }, 'segment verification failed');
          return [];
        },
      )
    : Promise.resolve([]);
  let stopping: Promise<void> | null = null;
  return {
    config,
    engine,
    kafkaPort,
    httpPort,
    kafkaListeners,
    credentials,
    cluster: member?.agent ?? null,
    reloadSecurity() {
      tls?.reload();
      httpDoor?.reloadTls();
      credentials.reload();
    },
    segmentAudit: audit,
    stop(): Promise<void> {
      stopping ??= (async () => {
        // Stop accepting and reading requests; answer what is in progress (held fetches answer at
        // once, acks waiting on a sync when it lands, held group joins with COORDINATOR_NOT_AVAILABLE)
        // for at most half the shutdown timeout; then close the doors and let the shards drain,
        // sync and close in the other half.
        clearInterval(aclWatch);
        etcdAcls?.stop();
        etcdUsers?.stop();
        // Leave the cluster first: revoking the lease lets the controller move this broker's partitions now
        // rather than when the lease would have expired.
        await member?.leave();
        for (const door of kafkaDoors) door.stopAccepting();
        engine.wakeHeldFetches();
        await transactions.close();
        await groups.close();
        await Promise.all(kafkaDoors.map((door) => door.close(Math.floor(config.shutdownTimeoutMs / 2))));
        for (const stop of stops.reverse()) await stop();
        await sql.close();
        await audit;
        await offload.close();
        await engine.stop();
        logger.info('pyralog stopped');
      })();
      return stopping;
    },
  };
}

/** Runs the start-up warm-up; a failure is logged and the broker starts unwarmed. */
async function warmUpOrReport(
  engine: ShardedEngine,
  deps: FrontDoorDeps,
  logger: Logger,
): Promise<WarmUpReport | null> {
  try {
    const report = await warmUp(engine, deps);
    if (report.errors > 0) logger.warn(report, 'warm-up requests answered with errors');
    return report;
  } catch (error) {
    logger.warn({ error: String(error) }, 'warm-up failed; starting without it');
    return null;
  }
}

function sqlLimitsOf(config: BrokerConfig): SqlLimits {
  return {
    timeoutMs: config.sqlTimeoutMs,
    rowsMax: config.sqlRowsMax,
    memoryBytes: config.sqlMemoryBytes,
    scanBytesMax: config.sqlScanBytesMax,
    concurrentMax: config.sqlConcurrentMax,
    readBytesPerSecond: config.sqlReadBytesPerSecond,
  };
}
