import { KafkaErrorCode } from '../../common/kafka-error-code.js';
import { AclOperation } from '../../security/acl.js';
import { principalText } from '../../security/principal.js';
import { SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN } from '../../security/scram.js';
import { clusterAllowed } from './acl-wire.js';
import { ApiKey, describedVersions, type KafkaApi } from './api.js';
import { field, type MessageDescription, structs } from './message/description.js';
import { messageCodec } from './message/message-codec.js';
import { auditAdminChange } from './request-authorization.js';
import { scramMechanismOfWire } from './scram-credential-wire.js';

/**
 * AlterUserScramCredentials (key 51), version 0 (flexible). Needs Alter on the cluster.
 * Upsertions carry what the client derived (salt, iterations, SaltedPassword), never the password;
 * the broker keeps only StoredKey and ServerKey from it. One result per user named: a user named
 * twice for the same mechanism gets DUPLICATE_RESOURCE and nothing of it changes; an unknown
 * mechanism UNSUPPORTED_SASL_MECHANISM; iterations outside 4096..16384 or an empty salt or
 * password UNACCEPTABLE_CREDENTIAL; a deletion of nothing RESOURCE_NOT_FOUND.
 */
export const alterUserScramCredentialsRequestDescription: MessageDescription = {
  name: 'AlterUserScramCredentialsRequest',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    structs('deletions', '0+', [field('name', 'string', '0+'), field('mechanism', 'int8', '0+')]),
    structs('upsertions', '0+', [
      field('name', 'string', '0+'),
      field('mechanism', 'int8', '0+'),
      field('iterations', 'int32', '0+'),
      field('salt', 'bytes', '0+'),
      field('saltedPassword', 'bytes', '0+'),
    ]),
  ],
};

export const alterUserScramCredentialsResponseDescription: MessageDescription = {
  name: 'AlterUserScramCredentialsResponse',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    field('throttleTimeMs', 'int32', '0+'),
    structs('results', '0+', [
      field('user', 'string', '0+'),
      field('errorCode', 'int16', '0+'),
      field('errorMessage', 'string', '0+', { nullableVersions: '0+', default: null }),
    ]),
  ],
};

export interface AlterUserScramCredentialsRequest {
  deletions: { name: string; mechanism: number }[];
  upsertions: {
    name: string;
    mechanism: number;
    iterations: number;
    salt: Uint8Array;
    saltedPassword: Uint8Array;
  }[];
}

interface AlteredUser {
  user: string;
  errorCode: number;
  errorMessage: string | null;
}

export interface AlterUserScramCredentialsResponse {
  throttleTimeMs: number;
  results: AlteredUser[];
}

const request = messageCodec<AlterUserScramCredentialsRequest>(alterUserScramCredentialsRequestDescription);
const response = messageCodec<AlterUserScramCredentialsResponse>(
  alterUserScramCredentialsResponseDescription,
);

export const alterUserScramCredentials: KafkaApi<
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse
> = {
  apiKey: ApiKey.ALTER_USER_SCRAM_CREDENTIALS,
  name: 'AlterUserScramCredentials',
  ...describedVersions(request, response),
  decode: request.decode,
  async handle(request, context) {
    const users = [...new Set([...request.deletions, ...request.upsertions].map((change) => change.name))];
    const everyone = (errorCode: number, errorMessage: string | null): AlterUserScramCredentialsResponse => ({
      throttleTimeMs: 0,
      results: users.map((user) => ({ user, errorCode, errorMessage })),
    });
    const store = context.deps.credentials;
    if (store === undefined)
      return everyone(KafkaErrorCode.SECURITY_DISABLED, 'this broker keeps no credentials');
    if (!clusterAllowed(context, AclOperation.ALTER, 'AlterUserScramCredentials')) {
      return everyone(KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    }
    // A user's first problem is its answer, and none of its changes is made.
    const problems = new Map<string, AlteredUser>();
    const fail = (user: string, errorCode: number, errorMessage: string): void => {
      if (!problems.has(user)) problems.set(user, { user, errorCode, errorMessage });
    };
    const seen = new Set<string>();
    for (const change of [...request.deletions, ...request.upsertions]) {
      const key = `${change.name}\u0000${change.mechanism}`;
      if (seen.has(key))
        fail(change.name, KafkaErrorCode.DUPLICATE_RESOURCE, 'a user and mechanism named more than once');
      seen.add(key);
      if (scramMechanismOfWire(change.mechanism) === null) {
        fail(
          change.name,
          KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM,
          `unknown SCRAM mechanism ${change.mechanism}`,
        );
      }
    }
    for (const upsertion of request.upsertions) {
      if (upsertion.iterations < SCRAM_ITERATIONS_MIN || upsertion.iterations > SCRAM_ITERATIONS_MAX) {
        fail(
          upsertion.name,
          KafkaErrorCode.UNACCEPTABLE_CREDENTIAL,
          `iterations must be ${SCRAM_ITERATIONS_MIN}..${SCRAM_ITERATIONS_MAX}`,
        );
      }
      if (upsertion.salt.length === 0 || upsertion.saltedPassword.length === 0) {
        fail(upsertion.name, KafkaErrorCode.UNACCEPTABLE_CREDENTIAL, 'empty salt or salted password');
      }
    }
    for (const deletion of request.deletions) {
      const mechanism = scramMechanismOfWire(deletion.mechanism);
      if (mechanism !== null && store.credential(deletion.name, mechanism) === undefined) {
        fail(
          deletion.name,
          KafkaErrorCode.RESOURCE_NOT_FOUND,
          `user ${deletion.name} has no ${mechanism} credential`,
        );
      }
    }
    const results: AlteredUser[] = [];
    for (const user of users) {
      const problem = problems.get(user);
      if (problem !== undefined) {
        results.push(problem);
        continue;
      }
      try {
        for (const deletion of request.deletions.filter((d) => d.name === user)) {
          store.deleteCredential(user, scramMechanismOfWire(deletion.mechanism)!);
        }
        for (const upsertion of request.upsertions.filter((u) => u.name === user)) {
          store.putSaltedPassword(
            user,
            scramMechanismOfWire(upsertion.mechanism)!,
            Buffer.from(upsertion.salt),
            Buffer.from(upsertion.saltedPassword),
            upsertion.iterations,
          );
        }
        auditAdminChange(context, 'user credentials altered', { user, by: principalText(context.principal) });
        results.push({ user, errorCode: KafkaErrorCode.NONE, errorMessage: null });
      } catch (error) {
        results.push({
          user,
          errorCode:
            error instanceof RangeError
              ? KafkaErrorCode.UNACCEPTABLE_CREDENTIAL
              : KafkaErrorCode.KAFKA_STORAGE_ERROR,
          errorMessage: (error as Error).message,
        });
      }
    }
    return { throttleTimeMs: 0, results };
  },
  encode: response.encode,
};
