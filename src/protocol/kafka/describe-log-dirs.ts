import { readdir, stat, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import type { TopicDescription } from '../../engine/engine-api.js';
import { AclOperation } from '../../security/acl.js';
import { partitionDir } from '../../storage/partition-dirs.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { clusterRequestAllowed } from './request-authorization.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DescribeLogDirs (key 35), versions 1–4 (flexible from 2; v0 is gone from
 * Kafka 4 as well). The broker has one log directory, its data directory
 * (absolute path). A partition's size is the bytes of its segment files
 * (`.log`), read from the directory with asynchronous stat calls (the
 * acceptor's event loop never blocks on them); the offset lag is 0 (the
 * current log, never a future one). v4 adds the file system's total and
 * usable bytes (statfs). A null topic list describes every topic; named
 * partitions the broker does not have are left out, as Kafka leaves them out.
 */
export const describeLogDirsRequestDescription: MessageDescription = {
  name: 'DescribeLogDirsRequest',
  validVersions: '1-4',
  flexibleVersions: '2+',
  fields: [
    structs('topics', '0+', [field('topic', 'string', '0+'), field('partitions', '[]int32', '0+')], {
      nullableVersions: '0+',
    }),
  ],
};

export const describeLogDirsResponseDescription: MessageDescription = {
  name: 'DescribeLogDirsResponse',
  validVersions: '1-4',
  flexibleVersions: '2+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '3+'),
    structs('results', '0+', [
      field('errorCode', 'int16', '0+'),
      field('logDir', 'string', '0+'),
      structs('topics', '0+', [
        field('name', 'string', '0+'),
        structs('partitions', '0+', [
          field('partitionIndex', 'int32', '0+'),
          field('partitionSize', 'int64', '0+'),
          field('offsetLag', 'int64', '0+'),
          field('isFutureKey', 'bool', '0+'),
        ]),
      ]),
      field('totalBytes', 'int64', '4+', { default: -1 }),
      field('usableBytes', 'int64', '4+', { default: -1 }),
    ]),
  ],
};

export interface DescribeLogDirsRequest {
  topics: { topic: string; partitions: number[] }[] | null;
}

export interface LogDirPartition {
  partitionIndex: number;
  partitionSize: number;
  offsetLag: number;
  isFutureKey: boolean;
}

export interface LogDirResult {
  errorCode: number;
  logDir: string;
  topics: { name: string; partitions: LogDirPartition[] }[];
  totalBytes: number;
  usableBytes: number;
}

export interface DescribeLogDirsResponse {
  errorCode: number;
  results: LogDirResult[];
}

/** Bytes of a partition's segment files; 0 when its directory is not there yet. */
async function segmentBytes(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let total = 0;
  for (const name of names) {
    if (!name.endsWith('.log')) continue;
    try {
      total += (await stat(join(dir, name))).size;
    } catch {
      // A segment removed by retention between readdir and stat no longer counts.
    }
  }
  return total;
}

async function fileSystemBytes(dir: string): Promise<{ totalBytes: number; usableBytes: number }> {
  try {
    const fs = await statfs(dir);
    return { totalBytes: fs.blocks * fs.bsize, usableBytes: fs.bavail * fs.bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}

const request = messageCodec<DescribeLogDirsRequest>(describeLogDirsRequestDescription);
const response = messageCodec<DescribeLogDirsResponse>(describeLogDirsResponseDescription);

export const describeLogDirs: KafkaApi<DescribeLogDirsRequest, DescribeLogDirsResponse> = {
  apiKey: ApiKey.DESCRIBE_LOG_DIRS,
  name: 'DescribeLogDirs',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const { engine, config } = context.deps;
    if (!clusterRequestAllowed(context, AclOperation.DESCRIBE, 'DescribeLogDirs')) {
      return { errorCode: KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    }
    const logDir = resolve(config.dataDir);
    const named = request.topics;
    if (named !== null && namesTooManyTopics(named.length, context)) {
      // v3+ carry the error at the top; older versions see it on the one log directory.
      return {
        errorCode: REQUEST_LIMIT_ERROR,
        results: [{ errorCode: REQUEST_LIMIT_ERROR, logDir, topics: [], totalBytes: -1, usableBytes: -1 }],
      };
    }
    // What to describe: every partition of every topic, or the named ones that exist.
    const wanted: { topic: TopicDescription; partitions: number[] }[] = [];
    if (named === null) {
      for (const topic of engine.listTopics()) {
        wanted.push({ topic, partitions: Array.from({ length: topic.partitionCount }, (_, i) => i) });
      }
    } else {
      for (const entry of named) {
        const topic = engine.describeTopic(entry.topic);
        if (topic === undefined) continue;
        const partitions = [...new Set(entry.partitions)].filter((p) => p >= 0 && p < topic.partitionCount);
        if (partitions.length > 0) wanted.push({ topic, partitions });
      }
    }
    const topics: LogDirResult['topics'] = [];
    for (const { topic, partitions } of wanted) {
      const described: LogDirPartition[] = [];
      for (const partition of partitions) {
        const dir = partitionDir(config.dataDir, topic.topicId, topic.name, partition);
        described.push({
          partitionIndex: partition,
          partitionSize: await segmentBytes(dir),
          offsetLag: 0,
          isFutureKey: false,
        });
      }
      topics.push({ name: topic.name, partitions: described });
    }
    const space = await fileSystemBytes(logDir);
    return {
      errorCode: KafkaErrorCode.NONE,
      results: [{ errorCode: KafkaErrorCode.NONE, logDir, topics, ...space }],
    };
  },
  encode: response.encode,
};
