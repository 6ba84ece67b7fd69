import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { createTopics } from '../../src/protocol/kafka/create-topics.js';
import { deleteTopics } from '../../src/protocol/kafka/delete-topics.js';
import { describeGroups } from '../../src/protocol/kafka/describe-groups.js';
import { heartbeat } from '../../src/protocol/kafka/heartbeat.js';
import { initProducerId } from '../../src/protocol/kafka/init-producer-id.js';
import { joinGroup } from '../../src/protocol/kafka/join-group.js';
import { leaveGroup } from '../../src/protocol/kafka/leave-group.js';
import { listGroups } from '../../src/protocol/kafka/list-groups.js';
import { listOffsets } from '../../src/protocol/kafka/list-offsets.js';
import { metadata } from '../../src/protocol/kafka/metadata.js';
import { offsetCommit } from '../../src/protocol/kafka/offset-commit.js';
import { offsetFetch } from '../../src/protocol/kafka/offset-fetch.js';
import { syncGroup } from '../../src/protocol/kafka/sync-group.js';
import {
  carr,
  cbytes,
  cnullStr,
  cstr,
  decode,
  encode,
  i8,
  i16,
  i32,
  i64,
  noTags,
} from '../support/kafka-bytes.js';

/**
 * The newest version of each API, against byte vectors written out by hand
 * from Apache Kafka's message schemas (clients/src/main/resources/common/
 * message/<Api>Request.json and <Api>Response.json; the version in each test
 * name): compact strings, bytes and arrays (length + 1 as an unsigned varint),
 * an empty tagged-field section closing every struct.
 */
const uuid = (byte: number) => Array.from({ length: 16 }, () => byte);

describe('Kafka API codecs, newest versions (byte vectors from the message schemas)', () => {
  it('Metadata v12: request by id with a null name; response with topic id and authorized operations', () => {
    expect(
      decode(metadata, 12, [
        ...carr(1),
        ...uuid(5),
        ...cnullStr(),
        ...noTags(),
        ...i8(0),
        ...i8(1),
        ...noTags(),
      ]),
    ).toMatchObject({
      topics: [{ topicId: Uint8Array.from(uuid(5)), name: null }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: true,
    });
    const response = {
      nodeId: 1,
      host: 'h',
      port: 9092,
      topics: [{ errorCode: 0, name: 't', topicId: 2, isInternal: false, partitionCount: 1 }],
    };
    const topicId = [0x70, 0x79, 0x72, 0x61, 0x6c, 0x6f, 0x67, 0x01, 0, 0, 0, 0, 0, 0, 0, 2];
    expect(encode(metadata, 12, response)).toEqual([
      ...i32(0), // throttle_time_ms
      ...carr(1),
      ...i32(1),
      ...cstr('h'),
      ...i32(9092),
      ...cnullStr(), // rack
      ...noTags(),
      ...cstr('pyralog'),
      ...i32(1), // controller_id
      ...carr(1),
      ...i16(0),
      ...cstr('t'),
      ...topicId,
      ...i8(0),
      ...carr(1),
      ...i16(0),
      ...i32(0),
      ...i32(1), // leader_id
      ...i32(-1), // leader_epoch
      ...carr(1),
      ...i32(1),
      ...carr(1),
      ...i32(1),
      ...carr(0), // offline_replicas
      ...noTags(),
      ...i32(-2147483648),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('ListOffsets v7 request and response', () => {
    expect(
      decode(listOffsets, 7, [
        ...i32(-1),
        ...i8(0),
        ...carr(1),
        ...cstr('t'),
        ...carr(1),
        ...i32(0),
        ...i32(-1),
        ...i64(-3),
        ...noTags(),
        ...noTags(),
        ...noTags(),
      ]),
    ).toMatchObject({ topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestampMs: -3 }] }] });
    const response = {
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, timestampMs: 5000, offset: 1 }] },
      ],
    };
    expect(encode(listOffsets, 7, response)).toEqual([
      ...i32(0),
      ...carr(1),
      ...cstr('t'),
      ...carr(1),
      ...i32(0),
      ...i16(0),
      ...i64(5000),
      ...i64(1),
      ...i32(-1),
      ...noTags(),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('OffsetCommit v8 request; OffsetFetch v8 request and response with several groups', () => {
    expect(
      decode(offsetCommit, 8, [
        ...cstr('g'),
        ...i32(3),
        ...cstr('m'),
        ...cstr('i'),
        ...carr(1),
        ...cstr('t'),
        ...carr(1),
        ...i32(0),
        ...i64(42),
        ...i32(-1),
        ...cnullStr(),
        ...noTags(),
        ...noTags(),
        ...noTags(),
      ]),
    ).toMatchObject({
      groupId: 'g',
      generationId: 3,
      memberId: 'm',
      groupInstanceId: 'i',
      topics: [{ topic: 't', partitions: [{ partition: 0, offset: 42, metadata: null }] }],
    });
    expect(
      decode(offsetFetch, 8, [
        ...carr(2),
        ...cstr('a'),
        ...carr(0), // topics: none (an empty list, not null)
        ...noTags(),
        ...cstr('b'),
        ...[0], // topics: null, every committed partition
        ...noTags(),
        ...i8(0),
        ...noTags(),
      ]),
    ).toMatchObject({
      groups: [
        { groupId: 'a', topics: [] },
        { groupId: 'b', topics: null },
      ],
    });
    const none = KafkaErrorCode.NONE;
    const response = {
      errorCode: none,
      topics: [],
      groups: [
        {
          groupId: 'b',
          errorCode: none,
          topics: [{ topic: 't', partitions: [{ partition: 0, offset: 42, metadata: '', errorCode: none }] }],
        },
      ],
    };
    expect(encode(offsetFetch, 8, response)).toEqual([
      ...i32(0),
      ...carr(1),
      ...cstr('b'),
      ...carr(1),
      ...cstr('t'),
      ...carr(1),
      ...i32(0),
      ...i64(42),
      ...i32(-1), // committed_leader_epoch
      ...cstr(''),
      ...i16(0),
      ...noTags(),
      ...noTags(),
      ...i16(0),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('JoinGroup v9 response, SyncGroup v5 response, Heartbeat v4 and LeaveGroup v4 requests', () => {
    const joined = {
      errorCode: KafkaErrorCode.NONE,
      generationId: 2,
      protocolType: 'consumer',
      protocolName: 'range',
      leaderId: 'm',
      memberId: 'm',
      members: [{ memberId: 'm', metadata: Uint8Array.of(7) }],
    };
    expect(encode(joinGroup, 9, joined)).toEqual([
      ...i32(0),
      ...i16(0),
      ...i32(2),
      ...cstr('consumer'),
      ...cstr('range'),
      ...cstr('m'),
      ...i8(0), // skip_assignment
      ...cstr('m'),
      ...carr(1),
      ...cstr('m'),
      ...cnullStr(), // group_instance_id
      ...cbytes([7]),
      ...noTags(),
      ...noTags(),
    ]);
    const synced = {
      errorCode: KafkaErrorCode.NONE,
      protocolType: 'consumer',
      protocolName: 'range',
      assignment: Uint8Array.of(4),
    };
    expect(encode(syncGroup, 5, synced)).toEqual([
      ...i32(0),
      ...i16(0),
      ...cstr('consumer'),
      ...cstr('range'),
      ...cbytes([4]),
      ...noTags(),
    ]);
    expect(decode(heartbeat, 4, [...cstr('g'), ...i32(2), ...cstr('m'), ...cstr('i'), ...noTags()])).toEqual({
      groupId: 'g',
      generationId: 2,
      memberId: 'm',
      groupInstanceId: 'i',
    });
    expect(
      decode(leaveGroup, 4, [...cstr('g'), ...carr(1), ...cstr(''), ...cstr('i'), ...noTags(), ...noTags()]),
    ).toEqual({ groupId: 'g', memberId: '', members: [{ memberId: '', groupInstanceId: 'i' }] });
  });

  it('ListGroups v4 and DescribeGroups v5 responses; InitProducerId v4 request', () => {
    expect(decode(listGroups, 4, [...carr(1), ...cstr('Stable'), ...noTags()])).toEqual({
      statesFilter: ['Stable'],
    });
    expect(
      encode(listGroups, 4, {
        errorCode: 0,
        groups: [{ groupId: 'g', protocolType: 'consumer', groupState: 'Empty' }],
      }),
    ).toEqual([
      ...i32(0),
      ...i16(0),
      ...carr(1),
      ...cstr('g'),
      ...cstr('consumer'),
      ...cstr('Empty'),
      ...noTags(),
      ...noTags(),
    ]);
    const group = {
      errorCode: KafkaErrorCode.NONE,
      groupId: 'g',
      state: 'Stable',
      protocolType: 'consumer',
      protocolName: 'range',
      members: [
        {
          memberId: 'm',
          groupInstanceId: 'i',
          clientId: 'c',
          clientHost: '/h',
          metadata: Uint8Array.of(1),
          assignment: Uint8Array.of(2),
        },
      ],
    };
    expect(encode(describeGroups, 5, { groups: [group] })).toEqual([
      ...i32(0),
      ...carr(1),
      ...i16(0),
      ...cstr('g'),
      ...cstr('Stable'),
      ...cstr('consumer'),
      ...cstr('range'),
      ...carr(1),
      ...cstr('m'),
      ...cstr('i'),
      ...cstr('c'),
      ...cstr('/h'),
      ...cbytes([1]),
      ...cbytes([2]),
      ...noTags(),
      ...i32(-2147483648),
      ...noTags(),
      ...noTags(),
    ]);
    expect(
      decode(initProducerId, 4, [...cnullStr(), ...i32(60000), ...i64(7), ...i16(1), ...noTags()]),
    ).toEqual({
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId: 7,
      producerEpoch: 1,
    });
  });

  it('CreateTopics v7 response with topic id, counts and configs; DeleteTopics v6 request by id', () => {
    const created = {
      topics: [
        {
          name: 't',
          topicId: Uint8Array.from(uuid(3)),
          errorCode: 0,
          errorMessage: null,
          numPartitions: 3,
          replicationFactor: 1,
          configs: [
            { name: 'cleanup.policy', value: 'delete', readOnly: false, configSource: 5, isSensitive: false },
          ],
        },
      ],
    };
    expect(encode(createTopics, 7, created)).toEqual([
      ...i32(0),
      ...carr(1),
      ...cstr('t'),
      ...uuid(3),
      ...i16(0),
      ...cnullStr(),
      ...i32(3),
      ...i16(1),
      ...carr(1),
      ...cstr('cleanup.policy'),
      ...cstr('delete'),
      ...i8(0),
      ...i8(5),
      ...i8(0),
      ...noTags(),
      ...noTags(), // topic_config_error_code (tag 0) is 0: not written
      ...noTags(),
    ]);
    expect(
      decode(deleteTopics, 6, [
        ...carr(1),
        ...cnullStr(),
        ...uuid(9),
        ...noTags(),
        ...i32(1000),
        ...noTags(),
      ]),
    ).toMatchObject({ topics: [{ name: null, topicId: Uint8Array.from(uuid(9)) }] });
  });
});
