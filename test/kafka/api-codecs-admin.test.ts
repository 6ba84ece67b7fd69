import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { apiVersions } from '../../src/protocol/kafka/api-versions.js';
import { deleteTopics } from '../../src/protocol/kafka/delete-topics.js';
import { describeConfigs } from '../../src/protocol/kafka/describe-configs.js';
import { describeGroups } from '../../src/protocol/kafka/describe-groups.js';
import { leaveGroup } from '../../src/protocol/kafka/leave-group.js';
import { listGroups } from '../../src/protocol/kafka/list-groups.js';
import { concatChunks, KafkaReader, KafkaWriter } from '../../src/protocol/kafka/primitives.js';
import { bytes, decode, encode, i8, i16, i32, nullStr, str } from '../support/kafka-bytes.js';

/**
 * The group administration, DescribeConfigs and DeleteTopics v0 codecs, and
 * the response frame writer, against byte vectors written out by hand from
 * Apache Kafka's message schemas
 * (clients/src/main/resources/common/message/<Api>Request.json and
 * <Api>Response.json, non-flexible versions): fields in schema order,
 * big-endian, STRING as INT16 length + UTF-8, BYTES as INT32 length, arrays as
 * INT32 count. The helpers spell bytes and share no code with the codecs.
 */

describe('Kafka admin API codecs (byte vectors from the message schemas)', () => {
  it('ApiVersions v0-2 requests are empty; v1 response ends with throttle_time_ms', () => {
    for (const version of [0, 1, 2]) {
      expect(decode(apiVersions, version, [])).toMatchObject({
        clientSoftwareName: '',
        clientSoftwareVersion: '',
      });
    }
    const apis = [{ apiKey: 0, minVersion: 3, maxVersion: 7 }];
    expect(encode(apiVersions, 1, { errorCode: 0, apis })).toEqual([
      ...i16(0),
      ...i32(1),
      ...i16(0),
      ...i16(3),
      ...i16(7),
      ...i32(0),
    ]);
  });

  it('LeaveGroup v0 and v1: group_id, member_id; response error_code, after throttle_time_ms from v1', () => {
    const body = [...str('g'), ...str('m-1')];
    expect(decode(leaveGroup, 0, body)).toMatchObject({ groupId: 'g', memberId: 'm-1', members: [] });
    expect(decode(leaveGroup, 1, body)).toMatchObject({ groupId: 'g', memberId: 'm-1', members: [] });
    expect(encode(leaveGroup, 0, { errorCode: KafkaErrorCode.UNKNOWN_MEMBER_ID, members: [] })).toEqual([
      ...i16(KafkaErrorCode.UNKNOWN_MEMBER_ID),
    ]);
    expect(encode(leaveGroup, 1, { errorCode: KafkaErrorCode.NONE, members: [] })).toEqual([
      ...i32(0),
      ...i16(0),
    ]);
  });

  it('DescribeGroups v0: groups [STRING]; response groups with members and their metadata/assignment bytes', () => {
    expect(decode(describeGroups, 0, [...i32(2), ...str('a'), ...str('b')])).toMatchObject({
      groups: ['a', 'b'],
      includeAuthorizedOperations: false,
    });
    const group = {
      errorCode: KafkaErrorCode.NONE,
      groupId: 'a',
      state: 'Stable',
      protocolType: 'consumer',
      protocolName: 'range',
      members: [
        {
          memberId: 'm',
          clientId: 'c',
          clientHost: '/h',
          metadata: Uint8Array.of(1, 2),
          assignment: Uint8Array.of(3),
        },
      ],
    };
    expect(encode(describeGroups, 0, { groups: [group] })).toEqual([
      ...i32(1),
      ...i16(0),
      ...str('a'),
      ...str('Stable'),
      ...str('consumer'),
      ...str('range'),
      ...i32(1),
      ...str('m'),
      ...str('c'),
      ...str('/h'),
      ...bytes([1, 2]),
      ...bytes([3]),
    ]);
  });

  it('ListGroups v0 and v1: empty request; response error_code then groups, after throttle_time_ms from v1', () => {
    expect(decode(listGroups, 0, [])).toMatchObject({ statesFilter: [] });
    const groups = [{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable' }];
    const tail = [...i16(0), ...i32(1), ...str('g'), ...str('consumer')];
    expect(encode(listGroups, 0, { errorCode: 0, groups })).toEqual(tail);
    expect(encode(listGroups, 1, { errorCode: 0, groups })).toEqual([...i32(0), ...tail]);
  });

  it('DescribeConfigs v0: resources with nullable key lists; results with is_default and is_sensitive', () => {
    const body = [
      ...i32(2),
      ...i8(2),
      ...str('t'),
      ...i32(-1),
      ...i8(4),
      ...str('0'),
      ...i32(1),
      ...str('k'),
    ];
    expect(decode(describeConfigs, 0, body).resources).toMatchObject([
      { resourceType: 2, resourceName: 't', keys: null },
      { resourceType: 4, resourceName: '0', keys: ['k'] },
    ]);
    const results = [
      {
        errorCode: 0,
        errorMessage: null,
        resourceType: 2,
        resourceName: 't',
        configs: [{ name: 'retention.ms', value: '1000', readOnly: true }],
      },
      { errorCode: 3, errorMessage: 'unknown topic', resourceType: 2, resourceName: 'x', configs: [] },
    ];
    expect(encode(describeConfigs, 0, results)).toEqual([
      ...i32(0),
      ...i32(2),
      ...i16(0),
      ...nullStr(),
      ...i8(2),
      ...str('t'),
      ...i32(1),
      ...str('retention.ms'),
      ...str('1000'),
      ...i8(1),
      ...i8(0),
      ...i8(0),
      ...i16(3),
      ...str('unknown topic'),
      ...i8(2),
      ...str('x'),
      ...i32(0),
    ]);
  });

  it('DeleteTopics v0: topic_names then timeout_ms; response has no throttle_time_ms', () => {
    expect(decode(deleteTopics, 0, [...i32(2), ...str('a'), ...str('b'), ...i32(30000)])).toMatchObject({
      names: ['a', 'b'],
    });
    expect(encode(deleteTopics, 0, { topics: [{ name: 'a', errorCode: 3 }] })).toEqual([
      ...i32(1),
      ...str('a'),
      ...i16(3),
    ]);
  });

  it('strings go out as INT16 length + UTF-8 whether ASCII, non-ASCII or long, and read back the same', () => {
    const long = 'x'.repeat(300);
    const writer = new KafkaWriter(8);
    writer.string('abc').string('größe-日本').nullableString(null).string(long);
    const out = concatChunks(writer.finish());
    const utf8 = [...new TextEncoder().encode('größe-日本')];
    expect([...out.subarray(0, 5 + 2 + utf8.length + 2)]).toEqual([
      ...str('abc'),
      ...i16(utf8.length),
      ...utf8,
      ...nullStr(),
    ]);
    const reader = new KafkaReader(out);
    expect([reader.string(), reader.string(), reader.nullableString(), reader.string()]).toEqual([
      'abc',
      'größe-日本',
      null,
      long,
    ]);
    expect(reader.remaining()).toBe(0);
  });

  it('a reused frame writer prefixes each frame with its size and never rewrites bytes already handed out', () => {
    const writer = new KafkaWriter(16);
    const first = writer.beginFrame().int32(7).string('abc').finishFrame();
    const firstBytes = [...concatChunks(first)];
    expect(firstBytes).toEqual([...i32(9), ...i32(7), ...str('abc')]);
    // The second frame crosses the 16-byte slab and carries a view; the first frame's bytes stay as they were.
    const view = Uint8Array.of(9, 9, 9);
    const second = writer.beginFrame().int32(8).string('defghijk').bytesView(view).int16(1).finishFrame();
    expect([...concatChunks(second)]).toEqual([
      ...i32(4 + 10 + 4 + 3 + 2),
      ...i32(8),
      ...str('defghijk'),
      ...bytes([9, 9, 9]),
      ...i16(1),
    ]);
    expect(second).toContain(view);
    expect([...concatChunks(first)]).toEqual(firstBytes);
  });
});
