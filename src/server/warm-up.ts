import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShardedEngine } from '../engine/sharded-engine.js';
import { WARM_UP_TOPIC_NAME } from '../engine/warm-up-scratch.js';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { ApiKey } from '../protocol/kafka/api.js';
import { fetchRequestDescription, fetchResponseDescription } from '../protocol/kafka/fetch.js';
import { messageCodec } from '../protocol/kafka/message/message-codec.js';
import { metadataRequestDescription, metadataResponseDescription } from '../protocol/kafka/metadata.js';
import { produceRequestDescription, produceResponseDescription } from '../protocol/kafka/produce.js';
import { MemoryBudget } from '../protocol/memory-budget.js';
import { buildRecordBatch } from '../record/batch-builder.js';
import { AccessControl } from '../security/access-control.js';
import {
  type AclBinding,
  AclOperation,
  AclPatternType,
  AclPermission,
  AclResourceType,
} from '../security/acl.js';
import type { AclRepository } from '../security/acl-repository.js';
import { ANONYMOUS_PRINCIPAL, principalText } from '../security/principal.js';
import { startKafkaListener } from './kafka-listener.js';
import { WarmUpClient, type WarmUpRequest, warmUpRequest } from './warm-up-client.js';

/**
 * The start-up warm-up (`--warm-up`, on by default): before the broker opens
 * its listeners, synthetic Kafka traffic runs the paths every client request
 * takes, so that V8 has compiled them (and the first ring wrap-around has
 * happened) before the first client pays for it. A fresh broker's first
 * seconds were its slowest: the tail of its first 6 s at 5,000 produces/s was
 * 6–9× its steady-state tail (issue 18).
 *
 * What runs: a private Kafka listener on 127.0.0.1 (an ephemeral port, no TLS
 * or SASL, every operation allowed) and one pipelined client connection on
 * the acceptor thread, sending single-record Produce requests (v7 and v9,
 * acks=1 and now and then acks=-1), larger batches that wrap each shard's
 * request ring once, Fetch requests (v11 and v12) reading the latest records
 * back, and a few Metadata requests. They travel the real path: socket,
 * framing, codecs, handler, engine routing, ring, shard, storage, and back.
 *
 * What it touches: the engine's scratch topic (engine/warm-up-scratch.ts), one
 * partition per shard with its files in a directory under the system's temp
 * directory, never in the data directory. It is no topic of the registry:
 * Metadata, the HTTP API and the topic list never show it, and no client can
 * reach it (its name is not a legal topic name, and the broker's listeners are
 * not open while it exists). At the end the shards delete their scratch
 * partitions and put their traffic metrics back, and the directory is
 * removed: no topic, offset, metric or file of the warm-up stays.
 *
 * Bounded: at most WARM_UP_LIMITS.requestsMax requests or durationMaxMs of
 * traffic, whichever comes first; a failure is reported and the broker starts
 * anyway (unwarmed). A broker killed during the warm-up leaves its scratch
 * directory in the temp directory, nothing in the data directory.
 */
export interface WarmUpLimits {
  /** Requests sent at most. */
  requestsMax: number;
  /** Traffic stops after this long even if fewer requests were sent. */
  durationMaxMs: number;
}

/**
 * A few thousand requests get the hot functions past V8's optimization
 * thresholds; on a quiet two-core machine they take about half a second.
 */
export const WARM_UP_LIMITS: Readonly<WarmUpLimits> = { requestsMax: 4000, durationMaxMs: 800 };

export interface WarmUpReport {
  requests: number;
  /** Responses that carried an error (the warm-up still ran the path). */
  errors: number;
  /** From the scratch directory's creation until it was removed. */
  elapsedMs: number;
}

/** Requests in flight on the warm-up connection. */
const IN_FLIGHT = 4;
/** One request in this many is a Fetch of the latest records of every scratch partition. */
const FETCH_EVERY = 16;
/** One request in this many is a Metadata request. */
const METADATA_EVERY = 128;
/** One request in this many (while rings are still to wrap) carries a large batch. */
const LARGE_EVERY = 4;
/** One request in this many is a small produce asking acks=-1. */
const ACKS_ALL_EVERY = 16;
/** A large batch: 16 records of 4 KiB. */
const LARGE_RECORD_BYTES = 4096;
const LARGE_RECORDS = 16;
/** Large batches stop once each shard's request ring has seen this much (it has wrapped by then). */
const RING_WRAP_FACTOR = 1.25;
/** Nor more than this per shard, whatever the ring size: the scratch files stay small. */
const WRAP_BYTES_MAX_PER_SHARD = 40 * 1024 * 1024;
const PRODUCE_VERSIONS = [7, 9] as const;
const FETCH_VERSIONS = [11, 12] as const;
const METADATA_VERSIONS = [9, 12] as const;
const FLEXIBLE_PRODUCE = 9;
const FLEXIBLE_FETCH = 12;
const FLEXIBLE_METADATA = 9;
/** A fetch starts this many records before the latest one acknowledged. */
const FETCH_BACK_RECORDS = 8;
/** A warm-up whose responses stop coming is cut off this long after its traffic should have ended. */
const STALL_GRACE_MS = 5000;

const produceRequest = messageCodec<unknown>(produceRequestDescription);
const produceResponse = messageCodec<{
  topics: { partitions: { errorCode: number; baseOffset: number }[] }[];
}>(produceResponseDescription);
const fetchRequest = messageCodec<unknown>(fetchRequestDescription);
const fetchResponse = messageCodec<{
  errorCode: number;
  topics: { partitions: { errorCode: number }[] }[];
}>(fetchResponseDescription);
const metadataRequest = messageCodec<unknown>(metadataRequestDescription);
const metadataResponse = messageCodec<unknown>(metadataResponseDescription);

export async function warmUp(
  engine: ShardedEngine,
  deps: FrontDoorDeps,
  limits: WarmUpLimits = WARM_UP_LIMITS,
): Promise<WarmUpReport> {
  const startedMs = performance.now();
  detachOneArrayBuffer();
  const dir = await mkdtemp(join(tmpdir(), 'pyralog-warm-up-'));
  let client: WarmUpClient | null = null;
  let listener: Awaited<ReturnType<typeof startKafkaListener>> | null = null;
  let began = false;
  let guard: NodeJS.Timeout | undefined;
  let counts = { requests: 0, errors: 0 };
  try {
    const topic = await engine.beginWarmUp(dir);
    began = true;
    listener = await startKafkaListener(warmUpDeps(deps), new MemoryBudget(deps.config.memoryBudgetBytes), {
      host: '127.0.0.1',
      port: 0,
      tls: null,
      sasl: null,
    });
    client = await WarmUpClient.connect(listener.port, '127.0.0.1');
    const stalled = client;
    // Every request is answered within the request timeout, but start-up must not wait that long.
    guard = setTimeout(() => stalled.close(), limits.durationMaxMs + STALL_GRACE_MS);
    counts = await runTraffic(client, topic, engine.hosts.length, deps, limits);
  } finally {
    clearTimeout(guard);
    client?.close();
    await listener?.close();
    try {
      if (began) await engine.endWarmUp();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { ...counts, elapsedMs: Math.round(performance.now() - startedMs) };
}

/**
 * Detaches one ArrayBuffer of its own, before the warm-up's traffic. V8 optimizes typed-array and
 * DataView accesses without a detached check as long as no ArrayBuffer in the isolate was ever
 * detached (its ArrayBufferDetaching protector), and throws all such code away the first time one is.
 * uWebSockets.js detaches the ArrayBuffer of every HTTP body chunk and WebSocket message it hands over,
 * so a broker's first HTTP POST (creating a topic, say) or WebSocket message would deoptimize what the
 * warm-up compiled: 23–38 functions of the Kafka path (bench/RESULTS.md). Done here, it costs the same
 * checks every broker with an HTTP or WebSocket client pays anyway, and the warm-up's code survives.
 */
function detachOneArrayBuffer(): void {
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
}

/**
 * The front-door dependencies for the private listener. The broker's own
 * object when it allows everything and is a single node (the default): V8
 * then optimizes the request path for exactly the objects clients will meet,
 * whereas objects of another shape met after the warm-up throw its optimized
 * code away. Otherwise a copy with every operation allowed (the warm-up
 * connection has no principal, and a denied check would write an audit line)
 * and no cluster view (the scratch topic has no leader in etcd); the warm-up
 * then helps less.
 */
export function warmUpDeps(deps: FrontDoorDeps): FrontDoorDeps {
  if (deps.cluster === undefined && (deps.access === undefined || deps.access.allowsEverything)) return deps;
  return {
    config: deps.config,
    engine: deps.engine,
    groups: deps.groups,
    access: warmUpAccess(),
    metricsText: () => '',
    encodeArrow: deps.encodeArrow,
    decodeRecordWindow: deps.decodeRecordWindow,
  };
}

/**
 * What a connection to the warm-up's listener may do: everything on the scratch topic and nothing
 * else. The listener takes no credentials and lives on a loopback port for up to a second before
 * the real ones open; on a broker whose ACLs or authentication guard its topics, any local process
 * that found that port would otherwise act there, unauthenticated, on every topic the broker holds.
 */
export function warmUpAccess(): AccessControl {
  const scratchOnly: AclBinding = {
    resourceType: AclResourceType.TOPIC,
    resourceName: WARM_UP_TOPIC_NAME,
    patternType: AclPatternType.LITERAL,
    principal: principalText(ANONYMOUS_PRINCIPAL),
    host: '*',
    operation: AclOperation.ALL,
    permission: AclPermission.ALLOW,
  };
  const bindings: readonly AclBinding[] = [scratchOnly];
  const store: AclRepository = {
    list: () => bindings,
    add: () => {
      throw new Error('the warm-up ACLs are fixed');
    },
    remove: () => [],
  };
  return new AccessControl(store, { superUsers: [], allowEveryoneIfNoAclFound: false, audit: () => {} });
}

interface Traffic {
  requests: number;
  errors: number;
}

async function runTraffic(
  client: WarmUpClient,
  topic: string,
  partitions: number,
  deps: FrontDoorDeps,
  limits: WarmUpLimits,
): Promise<Traffic> {
  const config = deps.config;
  const small = buildRecordBatch([{ key: null, value: new Uint8Array(1024).fill(7) }]);
  const large = buildRecordBatch(
    Array.from({ length: LARGE_RECORDS }, (_, i) => ({
      key: null,
      value: new Uint8Array(LARGE_RECORD_BYTES).fill(i),
    })),
  );
  const largeAllowed =
    large.length <= config.topicDefaults.maxMessageBytes && large.length * 2 <= config.maxRequestBytes;
  // Each shard owns one scratch partition; a large batch goes to each in turn.
  const wrapBytesPerShard = Math.min(config.ringBytes * RING_WRAP_FACTOR, WRAP_BYTES_MAX_PER_SHARD);
  let largeLeft = largeAllowed ? Math.ceil(wrapBytesPerShard / large.length) * partitions : 0;
  const produces = (batch: Uint8Array): WarmUpRequest[][] =>
    PRODUCE_VERSIONS.map((version) =>
      Array.from({ length: partitions * 2 }, (_, i) => {
        const partition = i % partitions;
        const acks = i < partitions ? 1 : -1;
        return warmUpRequest(ApiKey.PRODUCE, version, version >= FLEXIBLE_PRODUCE, (w) =>
          produceRequest.encode(
            w,
            {
              transactionalId: null,
              acks,
              timeoutMs: config.requestTimeoutMs,
              topics: [{ name: topic, partitions: [{ index: partition, records: batch }] }],
            },
            version,
          ),
        );
      }),
    );
  const smallProduces = produces(small);
  const largeProduces = largeAllowed ? produces(large) : [];
  // The offset after the latest record each scratch partition acknowledged: fetches read the last few back.
  const nextOffsets = new Array<number>(partitions).fill(0);
  const fetchOf = (version: number): WarmUpRequest =>
    warmUpRequest(ApiKey.FETCH, version, version >= FLEXIBLE_FETCH, (w) =>
      fetchRequest.encode(
        w,
        {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: 1024 * 1024,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic,
              partitions: Array.from({ length: partitions }, (_, partition) => ({
                partition,
                currentLeaderEpoch: -1,
                // The latest records are read back, as a consumer tailing the log reads them.
                fetchOffset: Math.max(0, nextOffsets[partition]! - FETCH_BACK_RECORDS),
                logStartOffset: -1,
                partitionMaxBytes: 64 * 1024,
              })),
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        },
        version,
      ),
    );
  const metadata = METADATA_VERSIONS.map((version) =>
    warmUpRequest(ApiKey.METADATA, version, version >= FLEXIBLE_METADATA, (w) =>
      metadataRequest.encode(
        w,
        { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
        version,
      ),
    ),
  );

  const deadlineMs = performance.now() + limits.durationMaxMs;
  let next = 0;
  let smallSent = 0;
  let errors = 0;
  const lane = async (): Promise<void> => {
    while (next < limits.requestsMax && performance.now() < deadlineMs) {
      const i = next++;
      if (i % METADATA_EVERY === METADATA_EVERY - 1) {
        const version = METADATA_VERSIONS[(i >> 7) & 1]!;
        metadataResponse.decode(await client.send(metadata[(i >> 7) & 1]!), version);
      } else if (i % FETCH_EVERY === FETCH_EVERY - 1) {
        const version = FETCH_VERSIONS[(i >> 4) & 1]!;
        const body = fetchResponse.decode(await client.send(fetchOf(version)), version);
        if (body.errorCode !== 0) errors++;
        for (const partition of body.topics[0]?.partitions ?? []) if (partition.errorCode !== 0) errors++;
      } else {
        const which = i & 1;
        const useLarge = largeLeft > 0 && i % LARGE_EVERY === LARGE_EVERY - 2;
        // Large batches take the shards in turn; small ones too, on the requests in between.
        const partition = useLarge ? largeLeft-- % partitions : smallSent++ % partitions;
        // The second half of each list asks acks=-1.
        const acksAllShift = !useLarge && i % ACKS_ALL_EVERY === 0 ? partitions : 0;
        const request = (useLarge ? largeProduces : smallProduces)[which]![partition + acksAllShift]!;
        const body = produceResponse.decode(await client.send(request), PRODUCE_VERSIONS[which]!);
        const answer = body.topics[0]?.partitions[0];
        if (answer === undefined || answer.errorCode !== 0) errors++;
        else nextOffsets[partition] = Math.max(nextOffsets[partition]!, answer.baseOffset + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return { requests: next, errors };
}
