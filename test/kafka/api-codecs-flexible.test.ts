import { describe, expect, it } from 'vitest';
import { apiVersions } from '../../src/protocol/kafka/api-versions.js';
import { fetch } from '../../src/protocol/kafka/fetch.js';
import { findCoordinator } from '../../src/protocol/kafka/find-coordinator.js';
import { heartbeat } from '../../src/protocol/kafka/heartbeat.js';
import { KafkaReader, MalformedRequestError } from '../../src/protocol/kafka/primitives.js';
import { produce } from '../../src/protocol/kafka/produce.js';
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
  uv,
} from '../support/kafka-bytes.js';

/**
 * Flexible versions against byte vectors written out by hand from Apache
 * Kafka's message schemas (clients/src/main/resources/common/message/
 * <Api>Request.json and <Api>Response.json, the versions named in each test):
 * compact strings, bytes and arrays store length + 1 as an unsigned varint,
 * and every struct ends with its tagged fields (count, then tag, size, bytes).
 * The helpers spell the bytes and share no code with the codecs.
 */
describe('Kafka API codecs in flexible versions (byte vectors from the message schemas)', () => {
  it('ApiVersions v3: client software name and version; response with an empty tag section per struct', () => {
    expect(decode(apiVersions, 3, [...cstr('librdkafka'), ...cstr('2.0.2'), ...noTags()])).toEqual({
      clientSoftwareName: 'librdkafka',
      clientSoftwareVersion: '2.0.2',
    });
    const apis = [{ apiKey: 18, minVersion: 0, maxVersion: 4 }];
    expect(encode(apiVersions, 3, { errorCode: 0, apis })).toEqual([
      ...i16(0),
      ...carr(1),
      ...i16(18),
      ...i16(0),
      ...i16(4),
      ...noTags(),
      ...i32(0),
      ...noTags(),
    ]);
  });

  it('Produce v9: compact names, records as a view into the request; response v9', () => {
    const body = Uint8Array.from([
      ...cnullStr(),
      ...i16(-1),
      ...i32(30000),
      ...carr(1),
      ...cstr('t'),
      ...carr(1),
      ...i32(2),
      ...cbytes([1, 2, 3]),
      ...noTags(),
      ...noTags(),
      ...noTags(),
    ]);
    const reader = new KafkaReader(body);
    const request = produce.decode(reader, 9);
    expect(reader.remaining()).toBe(0);
    expect(request).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30000 });
    const records = request.topics[0]!.partitions[0]!.records!;
    expect([...records]).toEqual([1, 2, 3]);
    expect(records.buffer).toBe(body.buffer); // a view, not a copy
    const response = {
      topics: [
        {
          name: 't',
          partitions: [{ index: 2, errorCode: 0, baseOffset: 5, logAppendTimeMs: -1, logStartOffset: 0 }],
        },
      ],
    };
    expect(encode(produce, 9, response)).toEqual([
      ...carr(1),
      ...cstr('t'),
      ...carr(1),
      ...i32(2),
      ...i16(0),
      ...i64(5),
      ...i64(-1),
      ...i64(0),
      ...carr(0), // record_errors
      ...cnullStr(), // error_message
      ...noTags(),
      ...noTags(),
      ...i32(0),
      ...noTags(),
    ]);
  });

  it('Fetch v12: last_fetched_epoch, a known tag (cluster_id) and an unknown one skipped; response v12', () => {
    const body = [
      ...i32(-1),
      ...i32(500),
      ...i32(1),
      ...i32(1048576),
      ...i8(0),
      ...i32(0),
      ...i32(-1),
      ...carr(1),
      ...cstr('t'),
      ...carr(1),
      ...i32(0),
      ...i32(-1), // current_leader_epoch
      ...i64(10),
      ...i32(-1), // last_fetched_epoch
      ...i64(-1), // log_start_offset
      ...i32(65536),
      ...noTags(),
      ...noTags(),
      ...carr(0), // forgotten_topics_data
      ...cstr('rack-a'),
      ...uv(2), // two tagged fields: cluster_id (0) and an unknown 7
      ...uv(0),
      ...uv(4),
      ...cstr('pyr'),
      ...uv(7),
      ...uv(3),
      1,
      2,
      3,
    ];
    expect(decode(fetch, 12, body)).toMatchObject({
      maxWaitMs: 500,
      rackId: 'rack-a',
      clusterId: 'pyr',
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 10, partitionMaxBytes: 65536 }] }],
    });
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
              records: Uint8Array.of(9, 9),
            },
          ],
        },
      ],
    };
    expect(encode(fetch, 12, response)).toEqual([
      ...i32(0),
      ...i16(0),
      ...i32(0), // session_id: never a session
      ...carr(1),
      ...cstr('t'),
      ...carr(1),
      ...i32(0),
      ...i16(0),
      ...i64(12),
      ...i64(12),
      ...i64(0),
      ...uv(0), // aborted_transactions: null
      ...i32(-1), // preferred_read_replica
      ...cbytes([9, 9]),
      ...noTags(),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('FindCoordinator v4: batched keys, one coordinator per key', () => {
    expect(
      decode(findCoordinator, 4, [...i8(0), ...carr(2), ...cstr('a'), ...cstr('b'), ...noTags()]),
    ).toEqual({
      key: '',
      keyType: 0,
      coordinatorKeys: ['a', 'b'],
    });
    const coordinator = { errorCode: 0, errorMessage: null, nodeId: 1, host: 'h', port: 9092 };
    expect(
      encode(findCoordinator, 4, { ...coordinator, coordinators: [{ key: 'a', ...coordinator }] }),
    ).toEqual([
      ...i32(0),
      ...carr(1),
      ...cstr('a'),
      ...i32(1),
      ...cstr('h'),
      ...i32(9092),
      ...i16(0),
      ...cnullStr(),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('refuses lying lengths, absurd counts, huge or misordered tags and overlong varints with MalformedRequestError', () => {
    const heartbeatHead = [...cstr('g'), ...i32(1), ...cstr('m'), ...cnullStr()];
    const bad: number[][] = [
      [...uv(1_000_000), 0x67], // group id claims a million bytes
      [...cstr('g'), ...i32(1), ...cstr('m'), ...cnullStr(), ...uv(1), ...uv(0), ...uv(0x7fff_ffff)], // huge tag
      [...heartbeatHead, ...uv(2), ...uv(3), ...uv(0), ...uv(1), ...uv(0)], // tags out of order
      [...heartbeatHead, ...uv(0x7fff_ffff)], // more tags than bytes
      [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // a varint longer than 5 bytes
    ];
    for (const body of bad) {
      expect(() => heartbeat.decode(new KafkaReader(Uint8Array.from(body)), 4)).toThrow(
        MalformedRequestError,
      );
    }
    // A compact array counting more elements than bytes left.
    const absurd = [...cnullStr(), ...i16(1), ...i32(0), ...uv(0x7fff_fff0)];
    expect(() => produce.decode(new KafkaReader(Uint8Array.from(absurd)), 9)).toThrow(MalformedRequestError);
  });
});
