import type { KafkaApi } from '../../src/protocol/kafka/api.js';
import { apiVersions } from '../../src/protocol/kafka/api-versions.js';
import { createTopics } from '../../src/protocol/kafka/create-topics.js';
import { deleteTopics } from '../../src/protocol/kafka/delete-topics.js';
import { describeConfigs } from '../../src/protocol/kafka/describe-configs.js';
import { describeGroups } from '../../src/protocol/kafka/describe-groups.js';
import { fetch } from '../../src/protocol/kafka/fetch.js';
import { findCoordinator } from '../../src/protocol/kafka/find-coordinator.js';
import { heartbeat } from '../../src/protocol/kafka/heartbeat.js';
import { initProducerId } from '../../src/protocol/kafka/init-producer-id.js';
import { joinGroup } from '../../src/protocol/kafka/join-group.js';
import { leaveGroup } from '../../src/protocol/kafka/leave-group.js';
import { listGroups } from '../../src/protocol/kafka/list-groups.js';
import { listOffsets } from '../../src/protocol/kafka/list-offsets.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import { metadata } from '../../src/protocol/kafka/metadata.js';
import { offsetCommit } from '../../src/protocol/kafka/offset-commit.js';
import { offsetFetch } from '../../src/protocol/kafka/offset-fetch.js';
import { concatChunks, KafkaWriter } from '../../src/protocol/kafka/primitives.js';
import { produce } from '../../src/protocol/kafka/produce.js';
import { syncGroup } from '../../src/protocol/kafka/sync-group.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';

/**
 * Seed requests for mutation fuzzing of the Kafka door: one valid body per
 * API and version worth covering (topic 't', group 'g'), and the mutations
 * applied to them. Shared by the decoder fuzzer and the listener fuzzers.
 */
export type AnyApi = KafkaApi<unknown, unknown>;

function body(write: (w: KafkaWriter) => void): Uint8Array {
  const writer = new KafkaWriter();
  write(writer);
  return concatChunks(writer.finish());
}

const batch = buildRecordBatch([
  { key: new TextEncoder().encode('k'), value: new TextEncoder().encode('value') },
]);
export const seeds: { api: AnyApi; version: number; bytes: Uint8Array }[] = [
  {
    api: produce as AnyApi,
    version: 7,
    bytes: body((w) =>
      w.nullableString(null).int16(-1).int32(1000).int32(1).string('t').int32(1).int32(0).bytesField(batch),
    ),
  },
  {
    api: fetch as AnyApi,
    version: 11,
    bytes: body((w) =>
      w
        .int32(-1)
        .int32(100)
        .int32(1)
        .int32(1 << 20)
        .int8(0)
        .int32(0)
        .int32(-1)
        .int32(1)
        .string('t')
        .int32(1)
        .int32(0)
        .int32(-1)
        .int64(5)
        .int64(0)
        .int32(1 << 16)
        .int32(0)
        .string('rack'),
    ),
  },
  {
    api: fetch as AnyApi,
    version: 4,
    bytes: body((w) =>
      w
        .int32(-1)
        .int32(100)
        .int32(1)
        .int32(1 << 20)
        .int8(0)
        .int32(1)
        .string('t')
        .int32(1)
        .int32(0)
        .int64(5)
        .int32(1 << 16),
    ),
  },
  {
    api: metadata as AnyApi,
    version: 5,
    bytes: body((w) => w.int32(2).string('a').string('b').boolean(true)),
  },
  { api: metadata as AnyApi, version: 0, bytes: body((w) => w.int32(1).string('a')) },
  {
    api: listOffsets as AnyApi,
    version: 2,
    bytes: body((w) => w.int32(-1).int8(0).int32(1).string('t').int32(1).int32(0).int64(-1)),
  },
  {
    api: createTopics as AnyApi,
    version: 3,
    bytes: body((w) =>
      w
        .int32(1)
        .string('t')
        .int32(3)
        .int16(1)
        .int32(0)
        .int32(1)
        .string('retention.ms')
        .nullableString('5')
        .int32(100)
        .boolean(false),
    ),
  },
  { api: deleteTopics as AnyApi, version: 1, bytes: body((w) => w.int32(1).string('t').int32(100)) },
  { api: initProducerId as AnyApi, version: 1, bytes: body((w) => w.nullableString(null).int32(1000)) },
  { api: findCoordinator as AnyApi, version: 2, bytes: body((w) => w.string('g').int8(0)) },
  {
    api: joinGroup as AnyApi,
    version: 2,
    bytes: body((w) =>
      w
        .string('g')
        .int32(1000)
        .int32(2000)
        .string('')
        .string('consumer')
        .int32(1)
        .string('range')
        .bytesField(Uint8Array.of(1, 2)),
    ),
  },
  {
    api: syncGroup as AnyApi,
    version: 1,
    bytes: body((w) => w.string('g').int32(1).string('m').int32(1).string('m').bytesField(Uint8Array.of(3))),
  },
  { api: heartbeat as AnyApi, version: 1, bytes: body((w) => w.string('g').int32(1).string('m')) },
  { api: leaveGroup as AnyApi, version: 1, bytes: body((w) => w.string('g').string('m')) },
  {
    api: offsetCommit as AnyApi,
    version: 2,
    bytes: body((w) =>
      w
        .string('g')
        .int32(1)
        .string('m')
        .int64(-1)
        .int32(1)
        .string('t')
        .int32(1)
        .int32(0)
        .int64(9)
        .nullableString(null),
    ),
  },
  {
    api: offsetFetch as AnyApi,
    version: 1,
    bytes: body((w) => w.string('g').int32(1).string('t').int32(1).int32(0)),
  },
  { api: describeGroups as AnyApi, version: 0, bytes: body((w) => w.int32(1).string('g')) },
  { api: listGroups as AnyApi, version: 1, bytes: new Uint8Array(0) },
  { api: apiVersions as AnyApi, version: 2, bytes: new Uint8Array(0) },
  {
    api: describeConfigs as AnyApi,
    version: 0,
    bytes: body((w) => w.int32(1).int8(2).string('t').int32(-1)),
  },
  // Flexible versions, encoded by the request descriptions themselves.
  ...flexibleSeeds(),
];

/** A request body in a flexible version, written by the API's own request description. */
function described(api: AnyApi, version: number, value: Record<string, unknown>) {
  const codec = messageCodec<Record<string, unknown>>(api.messages.request);
  return { api, version, bytes: body((w) => codec.encode(w, value, version)) };
}

function flexibleSeeds(): { api: AnyApi; version: number; bytes: Uint8Array }[] {
  const topics = [{ name: 't', topic: 't', partitions: [0, 1] }];
  return [
    described(produce as AnyApi, 9, {
      acks: -1,
      timeoutMs: 1000,
      topics: [{ name: 't', partitions: [{ index: 0, records: batch }] }],
    }),
    described(fetch as AnyApi, 12, {
      replicaId: -1,
      maxWaitMs: 100,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
      clusterId: 'c',
    }),
    described(metadata as AnyApi, 12, { topics: [{ topicId: new Uint8Array(16), name: 't' }] }),
    described(listOffsets as AnyApi, 7, {
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestampMs: -3 }] }],
    }),
    described(apiVersions as AnyApi, 3, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }),
    described(joinGroup as AnyApi, 9, {
      groupId: 'g',
      sessionTimeoutMs: 1000,
      rebalanceTimeoutMs: 1000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Uint8Array.of(1, 2) }],
      reason: 'fuzz',
    }),
    described(syncGroup as AnyApi, 5, { groupId: 'g', generationId: 1, memberId: 'm', assignments: [] }),
    described(offsetCommit as AnyApi, 8, {
      groupId: 'g',
      topics: [{ topic: 't', partitions: [{ partition: 0, offset: 1, metadata: null }] }],
    }),
    described(offsetFetch as AnyApi, 8, {
      groups: [
        { groupId: 'g', topics },
        { groupId: 'h', topics: null },
      ],
    }),
    described(findCoordinator as AnyApi, 4, { coordinatorKeys: ['g', 'h'] }),
    described(createTopics as AnyApi, 7, {
      topics: [
        { name: 't', numPartitions: -1, replicationFactor: -1, configs: [{ name: 'a', value: null }] },
      ],
    }),
    described(deleteTopics as AnyApi, 6, { topics: [{ name: null, topicId: new Uint8Array(16) }] }),
    described(listGroups as AnyApi, 4, { statesFilter: ['Stable'] }),
    described(leaveGroup as AnyApi, 4, { groupId: 'g', members: [{ memberId: 'm', groupInstanceId: 'i' }] }),
  ];
}

/**
 * Writes a seed's body into a request frame: after the request header's tagged fields
 * when `flexible` (header v2), then the bytes.
 */
export function copyInto(writer: KafkaWriter, bytes: Uint8Array, flexible = false): void {
  if (flexible) writer.uvarint(0);
  for (const byte of bytes) writer.int8((byte << 24) >> 24);
}

export function isFlexible(seed: { api: AnyApi; version: number }): boolean {
  return seed.version >= seed.api.firstFlexibleVersion;
}

/** Bit flips, byte overwrites, truncation, or a length field made to lie. */
export function mutate(seed: Uint8Array, random: () => number): Uint8Array {
  const roll = random();
  if (seed.length === 0 || roll < 0.1) {
    const junk = new Uint8Array(Math.floor(random() * 64));
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(random() * 256);
    return junk;
  }
  if (roll < 0.3) return seed.subarray(0, Math.floor(random() * seed.length));
  const bytes = seed.slice();
  const edits = 1 + Math.floor(random() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * bytes.length);
    if (random() < 0.5) bytes[at]! ^= 1 << Math.floor(random() * 8);
    else bytes[at] = random() < 0.5 ? 0xff : Math.floor(random() * 256);
  }
  return bytes;
}
