import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { apiVersions } from '../../src/protocol/kafka/api-versions.js';
import { createTopics } from '../../src/protocol/kafka/create-topics.js';
import { deleteTopics } from '../../src/protocol/kafka/delete-topics.js';
import { fetch } from '../../src/protocol/kafka/fetch.js';
import { findCoordinator } from '../../src/protocol/kafka/find-coordinator.js';
import { heartbeat } from '../../src/protocol/kafka/heartbeat.js';
import { initProducerId } from '../../src/protocol/kafka/init-producer-id.js';
import { joinGroup } from '../../src/protocol/kafka/join-group.js';
import { listOffsets } from '../../src/protocol/kafka/list-offsets.js';
import { metadata } from '../../src/protocol/kafka/metadata.js';
import { offsetCommit } from '../../src/protocol/kafka/offset-commit.js';
import { offsetFetch } from '../../src/protocol/kafka/offset-fetch.js';
import { MalformedRequestError } from '../../src/protocol/kafka/primitives.js';
import { produce } from '../../src/protocol/kafka/produce.js';
import { syncGroup } from '../../src/protocol/kafka/sync-group.js';
import { bytes, decode, encode, i8, i16, i32, i64, nullStr, str } from '../support/kafka-bytes.js';

/**
 * Request decoders and response encoders against byte vectors written out by
 * hand from the grammars in Apache Kafka's message schemas
 * (clients/src/main/resources/common/message/<Api>Request.json and
 * <Api>Response.json): each field in order, big-endian, strings as INT16
 * length + UTF-8, arrays as INT32 count. The helpers below spell the bytes;
 * they share no code with the codecs.
 */

describe('Kafka API codecs (byte vectors from the message schemas)', () => {
  it('ApiVersions v0 and v2 responses', () => {
    const apis = [{ apiKey: 18, minVersion: 0, maxVersion: 2 }];
    expect(encode(apiVersions, 0, { errorCode: 0, apis })).toEqual([
      ...i16(0),
      ...i32(1),
      ...i16(18),
      ...i16(0),
      ...i16(2),
    ]);
    expect(encode(apiVersions, 2, { errorCode: 0, apis })).toEqual([
      ...i16(0),
      ...i32(1),
      ...i16(18),
      ...i16(0),
      ...i16(2),
      ...i32(0),
    ]);
  });

  it('Produce v3 and v7 requests; v3 and v5+ responses (log_start_offset from v5)', () => {
    const body = [
      ...nullStr(),
      ...i16(-1),
      ...i32(30000),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(2),
      ...bytes([1, 2, 3]),
    ];
    for (const version of [3, 7]) {
      const request = decode(produce, version, body);
      expect(request).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30000 });
      expect(request.topics[0]?.name).toBe('t');
      expect(request.topics[0]?.partitions[0]?.index).toBe(2);
      expect([...(request.topics[0]?.partitions[0]?.records ?? [])]).toEqual([1, 2, 3]);
    }
    const response = {
      topics: [
        {
          name: 't',
          partitions: [{ index: 2, errorCode: 0, baseOffset: 41, logAppendTimeMs: -1, logStartOffset: 7 }],
        },
      ],
    };
    const common = [...i32(1), ...str('t'), ...i32(1), ...i32(2), ...i16(0), ...i64(41), ...i64(-1)];
    expect(encode(produce, 3, response)).toEqual([...common, ...i32(0)]);
    expect(encode(produce, 5, response)).toEqual([...common, ...i64(7), ...i32(0)]);
  });

  it('Fetch v4 and v11 requests; v4 and v11 responses', () => {
    const v4 = [
      ...i32(-1),
      ...i32(500),
      ...i32(1),
      ...i32(1048576),
      ...i8(0),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(0),
      ...i64(10),
      ...i32(65536),
    ];
    expect(decode(fetch, 4, v4)).toMatchObject({
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1048576,
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 10, partitionMaxBytes: 65536 }] }],
    });
    const v11 = [
      ...i32(-1),
      ...i32(500),
      ...i32(1),
      ...i32(1048576),
      ...i8(1),
      ...i32(0),
      ...i32(-1),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(0),
      ...i32(-1),
      ...i64(10),
      ...i64(0),
      ...i32(65536),
      ...i32(0),
      ...str(''),
    ];
    expect(decode(fetch, 11, v11).topics[0]?.partitions[0]?.fetchOffset).toBe(10);
    const records = Uint8Array.from([9, 9]);
    const response = {
      topics: [
        {
          topic: 't',
          partitions: [
            {
              partition: 0,
              errorCode: 0,
              highWatermark: 12,
              lastStableOffset: 12,
              logStartOffset: 0,
              records,
            },
          ],
        },
      ],
    };
    expect(encode(fetch, 4, response)).toEqual([
      ...i32(0),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(0),
      ...i16(0),
      ...i64(12),
      ...i64(12),
      ...i32(-1),
      ...bytes([9, 9]),
    ]);
    expect(encode(fetch, 11, response)).toEqual([
      ...i32(0),
      ...i16(0),
      ...i32(0),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(0),
      ...i16(0),
      ...i64(12),
      ...i64(12),
      ...i64(0),
      ...i32(-1),
      ...i32(-1),
      ...bytes([9, 9]),
    ]);
  });

  it('Metadata v0 (empty = all), v1 (null = all, [] = none), v4 auto-create flag; v0 and v5 responses', () => {
    expect(decode(metadata, 0, [...i32(0)])).toMatchObject({ topics: null, allowAutoTopicCreation: true });
    expect(decode(metadata, 1, [...i32(-1)])).toMatchObject({ topics: null, allowAutoTopicCreation: true });
    expect(decode(metadata, 1, [...i32(0)])).toMatchObject({ topics: [], allowAutoTopicCreation: true });
    expect(decode(metadata, 4, [...i32(1), ...str('a'), ...i8(0)])).toMatchObject({
      topics: [{ name: 'a' }],
      allowAutoTopicCreation: false,
    });
    const response = {
      nodeId: 0,
      host: 'h',
      port: 9092,
      topics: [{ errorCode: 0, name: 'a', topicId: 7, isInternal: false, partitionCount: 1 }],
    };
    expect(encode(metadata, 0, response)).toEqual([
      ...i32(1),
      ...i32(0),
      ...str('h'),
      ...i32(9092),
      ...i32(1),
      ...i16(0),
      ...str('a'),
      ...i32(1),
      ...i16(0),
      ...i32(0),
      ...i32(0),
      ...i32(1),
      ...i32(0),
      ...i32(1),
      ...i32(0),
    ]);
    expect(encode(metadata, 5, response)).toEqual([
      ...i32(0),
      ...i32(1),
      ...i32(0),
      ...str('h'),
      ...i32(9092),
      ...nullStr(),
      ...str('pyralog'),
      ...i32(0),
      ...i32(1),
      ...i16(0),
      ...str('a'),
      ...i8(0),
      ...i32(1),
      ...i16(0),
      ...i32(0),
      ...i32(0),
      ...i32(1),
      ...i32(0),
      ...i32(1),
      ...i32(0),
      ...i32(0),
    ]);
  });

  it('ListOffsets v1 and v2', () => {
    expect(
      decode(listOffsets, 1, [...i32(-1), ...i32(1), ...str('t'), ...i32(1), ...i32(0), ...i64(-2)]),
    ).toMatchObject({
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestampMs: -2 }] }],
    });
    expect(decode(listOffsets, 2, [...i32(-1), ...i8(0), ...i32(0)])).toMatchObject({ topics: [] });
    const response = {
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, timestampMs: -1, offset: 5 }] }],
    };
    expect(encode(listOffsets, 2, response)).toEqual([
      ...i32(0),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(0),
      ...i16(0),
      ...i64(-1),
      ...i64(5),
    ]);
  });

  it('CreateTopics v0 and v3; DeleteTopics v1', () => {
    const topic = [
      ...str('t'),
      ...i32(3),
      ...i16(1),
      ...i32(0),
      ...i32(1),
      ...str('retention.ms'),
      ...str('1000'),
    ];
    expect(decode(createTopics, 0, [...i32(1), ...topic, ...i32(5000)]).topics[0]).toMatchObject({
      name: 't',
      numPartitions: 3,
      replicationFactor: 1,
      configs: [{ name: 'retention.ms', value: '1000' }],
    });
    expect(decode(createTopics, 3, [...i32(1), ...topic, ...i32(5000), ...i8(1)]).validateOnly).toBe(true);
    expect(
      encode(createTopics, 3, { topics: [{ name: 't', errorCode: 36, errorMessage: 'exists' }] }),
    ).toEqual([...i32(0), ...i32(1), ...str('t'), ...i16(36), ...str('exists')]);
    expect(decode(deleteTopics, 1, [...i32(1), ...str('t'), ...i32(100)])).toMatchObject({ names: ['t'] });
    expect(encode(deleteTopics, 1, { topics: [{ name: 't', errorCode: 0 }] })).toEqual([
      ...i32(0),
      ...i32(1),
      ...str('t'),
      ...i16(0),
    ]);
  });

  it('InitProducerId v0 and FindCoordinator v0 and v2', () => {
    expect(decode(initProducerId, 0, [...nullStr(), ...i32(60000)])).toMatchObject({
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId: -1,
      producerEpoch: -1,
    });
    expect(encode(initProducerId, 1, { errorCode: 0, producerId: 1001, producerEpoch: 0 })).toEqual([
      ...i32(0),
      ...i16(0),
      ...i64(1001),
      ...i16(0),
    ]);
    expect(decode(findCoordinator, 0, [...str('g')])).toMatchObject({
      key: 'g',
      keyType: 0,
      coordinatorKeys: [],
    });
    expect(decode(findCoordinator, 2, [...str('g'), ...i8(0)])).toMatchObject({
      key: 'g',
      keyType: 0,
      coordinatorKeys: [],
    });
    const response = { errorCode: 0, errorMessage: null, nodeId: 0, host: 'h', port: 9092, coordinators: [] };
    expect(encode(findCoordinator, 0, response)).toEqual([...i16(0), ...i32(0), ...str('h'), ...i32(9092)]);
    expect(encode(findCoordinator, 2, response)).toEqual([
      ...i32(0),
      ...i16(0),
      ...nullStr(),
      ...i32(0),
      ...str('h'),
      ...i32(9092),
    ]);
  });

  it('JoinGroup v0 and v2, SyncGroup v1, Heartbeat v1', () => {
    const v0 = [
      ...str('g'),
      ...i32(30000),
      ...str(''),
      ...str('consumer'),
      ...i32(1),
      ...str('range'),
      ...bytes([1]),
    ];
    expect(decode(joinGroup, 0, v0)).toMatchObject({
      groupId: 'g',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: -1, // none in v0: the handler passes the session timeout
      memberId: '',
    });
    const v2 = [...str('g'), ...i32(30000), ...i32(60000), ...str('m'), ...str('consumer'), ...i32(0)];
    expect(decode(joinGroup, 2, v2)).toMatchObject({
      rebalanceTimeoutMs: 60000,
      memberId: 'm',
      protocols: [],
    });
    const joined = {
      protocolType: 'consumer',
      errorCode: KafkaErrorCode.NONE,
      generationId: 1,
      protocolName: 'range',
      leaderId: 'm',
      memberId: 'm',
      members: [{ memberId: 'm', metadata: Uint8Array.of(7) }],
    };
    expect(encode(joinGroup, 2, joined)).toEqual([
      ...i32(0),
      ...i16(0),
      ...i32(1),
      ...str('range'),
      ...str('m'),
      ...str('m'),
      ...i32(1),
      ...str('m'),
      ...bytes([7]),
    ]);
    expect(
      decode(syncGroup, 1, [...str('g'), ...i32(1), ...str('m'), ...i32(1), ...str('m'), ...bytes([4, 2])])
        .assignments[0],
    ).toMatchObject({ memberId: 'm' });
    const synced = {
      errorCode: KafkaErrorCode.NONE,
      assignment: Uint8Array.of(4, 2),
      protocolType: null,
      protocolName: null,
    };
    expect(encode(syncGroup, 1, synced)).toEqual([...i32(0), ...i16(0), ...bytes([4, 2])]);
    expect(encode(heartbeat, 1, { errorCode: 27 })).toEqual([...i32(0), ...i16(27)]);
  });

  it('OffsetCommit v1 (with commit timestamps) and v2 (with retention time); OffsetFetch v1', () => {
    const v1 = [
      ...str('g'),
      ...i32(3),
      ...str('m'),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(0),
      ...i64(42),
      ...i64(-1),
      ...nullStr(),
    ];
    const v2 = [
      ...str('g'),
      ...i32(3),
      ...str('m'),
      ...i64(-1),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(0),
      ...i64(42),
      ...str('meta'),
    ];
    expect(decode(offsetCommit, 1, v1).topics[0]?.partitions[0]).toMatchObject({
      partition: 0,
      offset: 42,
      metadata: null,
    });
    expect(decode(offsetCommit, 2, v2).topics[0]?.partitions[0]).toMatchObject({
      partition: 0,
      offset: 42,
      metadata: 'meta',
    });
    expect(decode(offsetFetch, 1, [...str('g'), ...i32(1), ...str('t'), ...i32(1), ...i32(0)])).toMatchObject(
      {
        groupId: 'g',
        topics: [{ topic: 't', partitions: [0] }],
      },
    );
    const fetched = {
      errorCode: 0,
      topics: [{ topic: 't', partitions: [{ partition: 0, offset: -1, metadata: '', errorCode: 0 }] }],
    };
    expect(encode(offsetFetch, 1, fetched as never)).toEqual([
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(0),
      ...i64(-1),
      ...str(''),
      ...i16(0),
    ]);
  });

  it('rejects a request whose lengths lie with MalformedRequestError', () => {
    expect(() => decode(produce, 3, [...nullStr(), ...i16(1), ...i32(0), ...i32(1_000_000)])).toThrow(
      MalformedRequestError,
    );
    expect(() => decode(metadata, 1, [...i32(1), ...i16(50), 1, 2])).toThrow(MalformedRequestError);
    expect(() => decode(fetch, 4, [...i32(-1)])).toThrow(MalformedRequestError);
  });
});
