import { describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { alterConfigs } from '../../src/protocol/kafka/alter-configs.js';
import { createPartitions } from '../../src/protocol/kafka/create-partitions.js';
import { deleteGroups } from '../../src/protocol/kafka/delete-groups.js';
import { deleteRecords } from '../../src/protocol/kafka/delete-records.js';
import { describeCluster } from '../../src/protocol/kafka/describe-cluster.js';
import { describeConfigs } from '../../src/protocol/kafka/describe-configs.js';
import { describeLogDirs } from '../../src/protocol/kafka/describe-log-dirs.js';
import { ELECTION_NOT_NEEDED, electLeaders } from '../../src/protocol/kafka/elect-leaders.js';
import { incrementalAlterConfigs } from '../../src/protocol/kafka/incremental-alter-configs.js';
import { offsetDelete } from '../../src/protocol/kafka/offset-delete.js';
import {
  carr,
  cnullStr,
  cstr,
  decode,
  encode,
  i8,
  i16,
  i32,
  i64,
  noTags,
  nullStr,
  str,
} from '../support/kafka-bytes.js';

/**
 * The admin APIs' codecs against byte vectors written out by hand from Apache
 * Kafka's message schemas (clients/src/main/resources/common/message/
 * <Api>Request.json and <Api>Response.json): fields in schema order; in
 * non-flexible versions STRING as INT16 length, arrays as INT32 count; in
 * flexible versions compact strings and arrays (unsigned varint length + 1)
 * and an empty tagged-field section closing every struct. The helpers spell
 * bytes and share no code with the codecs.
 */
describe('Kafka admin API codecs (byte vectors from the message schemas)', () => {
  it('DescribeCluster v0 and v1 (flexible from 0): endpoint type from v1, one broker, controller id', () => {
    expect(decode(describeCluster, 0, [...i8(0), ...noTags()])).toEqual({
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
    });
    expect(decode(describeCluster, 1, [...i8(1), ...i8(2), ...noTags()])).toEqual({
      includeClusterAuthorizedOperations: true,
      endpointType: 2,
    });
    const answer = {
      errorCode: 0,
      errorMessage: null,
      endpointType: 1,
      clusterId: 'pc',
      controllerId: 7,
      brokers: [{ brokerId: 7, host: 'h', port: 9092, rack: null }],
    };
    const brokers = [...carr(1), ...i32(7), ...cstr('h'), ...i32(9092), ...cnullStr(), ...noTags()];
    const tail = [...i32(-2147483648), ...noTags()];
    expect(encode(describeCluster, 0, answer)).toEqual([
      ...i32(0),
      ...i16(0),
      ...cnullStr(),
      ...cstr('pc'),
      ...i32(7),
      ...brokers,
      ...tail,
    ]);
    expect(encode(describeCluster, 1, answer)).toEqual([
      ...i32(0),
      ...i16(0),
      ...cnullStr(),
      ...i8(1),
      ...cstr('pc'),
      ...i32(7),
      ...brokers,
      ...tail,
    ]);
  });

  it('ElectLeaders v0 (no election type, no top-level error) and v2 (flexible); null topic list', () => {
    expect(decode(electLeaders, 0, [...i32(1), ...str('t'), ...i32(1), ...i32(3), ...i32(5000)])).toEqual({
      electionType: 0,
      topicPartitions: [{ topic: 't', partitionId: [3] }],
      timeoutMs: 5000,
    });
    expect(decode(electLeaders, 2, [...i8(1), ...carr(-1), ...i32(60000), ...noTags()])).toEqual({
      electionType: 1,
      topicPartitions: null,
      timeoutMs: 60000,
    });
    const results = {
      errorCode: 0,
      replicaElectionResults: [
        {
          topic: 't',
          partitionResult: [{ partitionId: 3, errorCode: ELECTION_NOT_NEEDED, errorMessage: null }],
        },
      ],
    };
    expect(encode(electLeaders, 0, results)).toEqual([
      ...i32(0),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(3),
      ...i16(84),
      ...nullStr(),
    ]);
    expect(encode(electLeaders, 2, results)).toEqual([
      ...i32(0),
      ...i16(0),
      ...carr(1),
      ...cstr('t'),
      ...carr(1),
      ...i32(3),
      ...i16(84),
      ...cnullStr(),
      ...noTags(),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('DescribeLogDirs v1 (null topics) and v4 (flexible, top-level error, total and usable bytes)', () => {
    expect(decode(describeLogDirs, 1, [...i32(-1)])).toEqual({ topics: null });
    expect(
      decode(describeLogDirs, 4, [...carr(1), ...cstr('t'), ...carr(1), ...i32(0), ...noTags(), ...noTags()]),
    ).toEqual({ topics: [{ topic: 't', partitions: [0] }] });
    const answer = {
      errorCode: 0,
      results: [
        {
          errorCode: 0,
          logDir: '/d',
          topics: [
            {
              name: 't',
              partitions: [{ partitionIndex: 0, partitionSize: 100, offsetLag: 0, isFutureKey: false }],
            },
          ],
          totalBytes: 2 ** 40,
          usableBytes: 2 ** 33,
        },
      ],
    };
    const partition = [...i32(0), ...i64(100), ...i64(0), ...i8(0)];
    expect(encode(describeLogDirs, 1, answer)).toEqual([
      ...i32(0),
      ...i32(1),
      ...i16(0),
      ...str('/d'),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...partition,
    ]);
    expect(encode(describeLogDirs, 4, answer)).toEqual([
      ...i32(0),
      ...i16(0),
      ...carr(1),
      ...i16(0),
      ...cstr('/d'),
      ...carr(1),
      ...cstr('t'),
      ...carr(1),
      ...partition,
      ...noTags(),
      ...noTags(),
      ...i64(2 ** 40),
      ...i64(2 ** 33),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('CreatePartitions v0 (null assignments) and v2 (flexible, one assignment)', () => {
    expect(
      decode(createPartitions, 0, [...i32(1), ...str('t'), ...i32(4), ...i32(-1), ...i32(1000), ...i8(1)]),
    ).toEqual({
      topics: [{ name: 't', count: 4, assignments: null }],
      timeoutMs: 1000,
      validateOnly: true,
    });
    expect(
      decode(createPartitions, 2, [
        ...carr(1),
        ...cstr('t'),
        ...i32(2),
        ...carr(1),
        ...carr(1),
        ...i32(0),
        ...noTags(),
        ...noTags(),
        ...i32(1000),
        ...i8(0),
        ...noTags(),
      ]),
    ).toEqual({
      topics: [{ name: 't', count: 2, assignments: [{ brokerIds: [0] }] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const answer = {
      results: [{ name: 't', errorCode: KafkaErrorCode.INVALID_PARTITIONS, errorMessage: 'no' }],
    };
    expect(encode(createPartitions, 0, answer)).toEqual([
      ...i32(0),
      ...i32(1),
      ...str('t'),
      ...i16(37),
      ...str('no'),
    ]);
    expect(encode(createPartitions, 3, answer)).toEqual([
      ...i32(0),
      ...carr(1),
      ...cstr('t'),
      ...i16(37),
      ...cstr('no'),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('DeleteGroups v0 and v2 (flexible)', () => {
    expect(decode(deleteGroups, 0, [...i32(2), ...str('a'), ...str('b')])).toEqual({
      groupsNames: ['a', 'b'],
    });
    expect(decode(deleteGroups, 2, [...carr(1), ...cstr('a'), ...noTags()])).toEqual({ groupsNames: ['a'] });
    const answer = { results: [{ groupId: 'a', errorCode: KafkaErrorCode.NON_EMPTY_GROUP }] };
    expect(encode(deleteGroups, 1, answer)).toEqual([...i32(0), ...i32(1), ...str('a'), ...i16(68)]);
    expect(encode(deleteGroups, 2, answer)).toEqual([
      ...i32(0),
      ...carr(1),
      ...cstr('a'),
      ...i16(68),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('AlterConfigs v0 (null value) and v2 (flexible); response per resource', () => {
    expect(
      decode(alterConfigs, 0, [
        ...i32(1),
        ...i8(2),
        ...str('t'),
        ...i32(2),
        ...str('retention.ms'),
        ...str('1000'),
        ...str('segment.ms'),
        ...nullStr(),
        ...i8(0),
      ]),
    ).toEqual({
      resources: [
        {
          resourceType: 2,
          resourceName: 't',
          configs: [
            { name: 'retention.ms', value: '1000' },
            { name: 'segment.ms', value: null },
          ],
        },
      ],
      validateOnly: false,
    });
    expect(
      decode(alterConfigs, 2, [
        ...carr(1),
        ...i8(2),
        ...cstr('t'),
        ...carr(1),
        ...cstr('retention.ms'),
        ...cstr('5'),
        ...noTags(),
        ...noTags(),
        ...i8(1),
        ...noTags(),
      ]),
    ).toEqual({
      resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', value: '5' }] }],
      validateOnly: true,
    });
    const answer = {
      responses: [
        { errorCode: KafkaErrorCode.INVALID_CONFIG, errorMessage: 'bad', resourceType: 2, resourceName: 't' },
      ],
    };
    expect(encode(alterConfigs, 1, answer)).toEqual([
      ...i32(0),
      ...i32(1),
      ...i16(40),
      ...str('bad'),
      ...i8(2),
      ...str('t'),
    ]);
    expect(encode(alterConfigs, 2, answer)).toEqual([
      ...i32(0),
      ...carr(1),
      ...i16(40),
      ...cstr('bad'),
      ...i8(2),
      ...cstr('t'),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('IncrementalAlterConfigs v0 and v1 (flexible): operation per config', () => {
    expect(
      decode(incrementalAlterConfigs, 0, [
        ...i32(1),
        ...i8(2),
        ...str('t'),
        ...i32(1),
        ...str('cleanup.policy'),
        ...i8(2),
        ...str('compact'),
        ...i8(0),
      ]),
    ).toEqual({
      resources: [
        {
          resourceType: 2,
          resourceName: 't',
          configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }],
        },
      ],
      validateOnly: false,
    });
    expect(
      decode(incrementalAlterConfigs, 1, [
        ...carr(1),
        ...i8(2),
        ...cstr('t'),
        ...carr(1),
        ...cstr('retention.ms'),
        ...i8(1),
        ...cnullStr(),
        ...noTags(),
        ...noTags(),
        ...i8(0),
        ...noTags(),
      ]),
    ).toEqual({
      resources: [
        {
          resourceType: 2,
          resourceName: 't',
          configs: [{ name: 'retention.ms', configOperation: 1, value: null }],
        },
      ],
      validateOnly: false,
    });
    const answer = { responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't' }] };
    expect(encode(incrementalAlterConfigs, 1, answer)).toEqual([
      ...i32(0),
      ...carr(1),
      ...i16(0),
      ...cnullStr(),
      ...i8(2),
      ...cstr('t'),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('OffsetDelete v0 (not flexible): error code before throttle time in the response', () => {
    expect(decode(offsetDelete, 0, [...str('g'), ...i32(1), ...str('t'), ...i32(1), ...i32(2)])).toEqual({
      groupId: 'g',
      topics: [{ name: 't', partitions: [{ partitionIndex: 2 }] }],
    });
    const answer = {
      errorCode: 0,
      topics: [{ name: 't', partitions: [{ partitionIndex: 2, errorCode: 86 }] }],
    };
    expect(encode(offsetDelete, 0, answer)).toEqual([
      ...i16(0),
      ...i32(0),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(2),
      ...i16(86),
    ]);
  });

  it('DeleteRecords v0 and v2 (flexible): offsets as INT64, low watermark before the error code', () => {
    expect(
      decode(deleteRecords, 0, [...i32(1), ...str('t'), ...i32(1), ...i32(0), ...i64(6), ...i32(1000)]),
    ).toEqual({
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 6 }] }],
      timeoutMs: 1000,
    });
    expect(
      decode(deleteRecords, 2, [
        ...carr(1),
        ...cstr('t'),
        ...carr(1),
        ...i32(0),
        ...i64(-1),
        ...noTags(),
        ...noTags(),
        ...i32(5),
        ...noTags(),
      ]),
    ).toEqual({ topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: -1 }] }], timeoutMs: 5 });
    const answer = {
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, lowWatermark: 6, errorCode: 0 }] }],
    };
    expect(encode(deleteRecords, 1, answer)).toEqual([
      ...i32(0),
      ...i32(1),
      ...str('t'),
      ...i32(1),
      ...i32(0),
      ...i64(6),
      ...i16(0),
    ]);
    expect(encode(deleteRecords, 2, answer)).toEqual([
      ...i32(0),
      ...carr(1),
      ...cstr('t'),
      ...carr(1),
      ...i32(0),
      ...i64(6),
      ...i16(0),
      ...noTags(),
      ...noTags(),
      ...noTags(),
    ]);
  });

  it('DescribeConfigs v1 (sources and synonyms), v3 (type, documentation) and v4 (flexible)', () => {
    expect(decode(describeConfigs, 1, [...i32(1), ...i8(2), ...str('t'), ...i32(-1), ...i8(1)])).toEqual({
      resources: [{ resourceType: 2, resourceName: 't', keys: null }],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    expect(
      decode(describeConfigs, 4, [
        ...carr(1),
        ...i8(2),
        ...cstr('t'),
        ...carr(1),
        ...cstr('k'),
        ...noTags(),
        ...i8(0),
        ...i8(1),
        ...noTags(),
      ]),
    ).toEqual({
      resources: [{ resourceType: 2, resourceName: 't', keys: ['k'] }],
      includeSynonyms: false,
      includeDocumentation: true,
    });
    const results = [
      {
        errorCode: 0,
        errorMessage: null,
        resourceType: 2,
        resourceName: 't',
        configs: [
          {
            name: 'k',
            value: 'v',
            readOnly: false,
            isDefault: false,
            configSource: 1,
            isSensitive: false,
            synonyms: [{ name: 'k', value: 'v', source: 1 }],
            configType: 5,
            documentation: 'd',
          },
        ],
      },
    ];
    const head = [
      ...i32(0),
      ...i32(1),
      ...i16(0),
      ...nullStr(),
      ...i8(2),
      ...str('t'),
      ...i32(1),
      ...str('k'),
      ...str('v'),
      ...i8(0),
    ];
    const synonyms = [...i32(1), ...str('k'), ...str('v'), ...i8(1)];
    expect(encode(describeConfigs, 1, results)).toEqual([...head, ...i8(1), ...i8(0), ...synonyms]);
    expect(encode(describeConfigs, 3, results)).toEqual([
      ...head,
      ...i8(1),
      ...i8(0),
      ...synonyms,
      ...i8(5),
      ...str('d'),
    ]);
    expect(encode(describeConfigs, 4, results)).toEqual([
      ...i32(0),
      ...carr(1),
      ...i16(0),
      ...cnullStr(),
      ...i8(2),
      ...cstr('t'),
      ...carr(1),
      ...cstr('k'),
      ...cstr('v'),
      ...i8(0),
      ...i8(1),
      ...i8(0),
      ...carr(1),
      ...cstr('k'),
      ...cstr('v'),
      ...i8(1),
      ...noTags(),
      ...i8(5),
      ...cstr('d'),
      ...noTags(),
      ...noTags(),
      ...noTags(),
    ]);
  });
});
