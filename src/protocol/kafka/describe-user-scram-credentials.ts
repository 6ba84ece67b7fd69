import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation } from '../../security/acl.js';
import { clusterAllowed } from './acl-wire.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { wireOfScramMechanism } from './scram-credential-wire.js';

/**
 * DescribeUserScramCredentials (key 50), version 0 (flexible). Needs Describe on the cluster.
 * Names each user's mechanisms and iteration counts, never salts or keys. A null user list means
 * every user; a named user without credentials gets RESOURCE_NOT_FOUND, a name asked twice
 * DUPLICATE_RESOURCE.
 */
export const describeUserScramCredentialsRequestDescription: MessageDescription = {
  name: 'DescribeUserScramCredentialsRequest',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    structs('users', '0+', [field('name', 'string', '0+')], { nullableVersions: '0+', default: null }),
  ],
};

export const describeUserScramCredentialsResponseDescription: MessageDescription = {
  name: 'DescribeUserScramCredentialsResponse',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
    structs('results', '0+', [
      field('user', 'string', '0+'),
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
      structs('credentialInfos', '0+', [
        field('mechanism', 'int8', '0+'),
        field('iterations', 'int32', '0+'),
      ]),
    ]),
  ],
};

export interface DescribeUserScramCredentialsRequest {
  users: { name: string }[] | null;
}

interface DescribedUser {
  user: string;
  errorCode: number;
  errorMessage: string | null;
  credentialInfos: { mechanism: number; iterations: number }[];
}

export interface DescribeUserScramCredentialsResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  results: DescribedUser[];
}

const request = messageCodec<DescribeUserScramCredentialsRequest>(
  describeUserScramCredentialsRequestDescription,
);
const response = messageCodec<DescribeUserScramCredentialsResponse>(
  describeUserScramCredentialsResponseDescription,
);

export const describeUserScramCredentials: KafkaApi<
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse
> = {
  apiKey: ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS,
  name: 'DescribeUserScramCredentials',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const refuse = (
      errorCode: number,
      errorMessage: string | null,
    ): DescribeUserScramCredentialsResponse => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      results: [],
    });
    const store = context.deps.credentials;
    if (store === undefined)
      return refuse(KafkaErrorCode.SECURITY_DISABLED, 'this broker keeps no credentials');
    if (!clusterAllowed(context, AclOperation.DESCRIBE, 'DescribeUserScramCredentials')) {
      return refuse(KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    }
    const names = request.users === null ? store.list().map((u) => u.name) : request.users.map((u) => u.name);
    const counts = new Map<string, number>();
    for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
    const results: DescribedUser[] = [];
    for (const [name, count] of counts) {
      if (count > 1) {
        results.push({
          user: name,
          errorCode: KafkaErrorCode.DUPLICATE_RESOURCE,
          errorMessage: `user ${name} asked more than once`,
          credentialInfos: [],
        });
        continue;
      }
      const info = store.describe(name);
      results.push(
        info === undefined
          ? {
              user: name,
              errorCode: KafkaErrorCode.RESOURCE_NOT_FOUND,
              errorMessage: `no credentials for user ${name}`,
              credentialInfos: [],
            }
          : {
              user: name,
              errorCode: KafkaErrorCode.NONE,
              errorMessage: null,
              credentialInfos: info.credentials.map((c) => ({
                mechanism: wireOfScramMechanism(c.mechanism),
                iterations: c.iterations,
              })),
            },
      );
    }
    return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NONE, errorMessage: null, results };
  },
  encode: response.encode,
};
