import type { Principal } from '../../security/principal.js';
import type { SaslAuthenticator } from '../../security/sasl-authenticator.js';
import type { FrontDoorDeps } from '../front-door-deps.js';
import type { MessageDescription } from './message/description.js';
import type { MessageCodec } from './message/message-codec.js';
import type { KafkaReader, KafkaWriter } from './primitives.js';

/**
 * The shape every Kafka API file exports (DESIGN.md §7: one file per API,
 * versions as data): its key, the versions it implements, a request decoder
 * and a response encoder per version, and a handler that turns the request
 * into engine or coordinator work. Handlers answer operating errors with
 * Kafka error codes in the response; they do not throw.
 */
export interface KafkaRequestContext {
  readonly deps: FrontDoorDeps;
  readonly apiVersion: number;
  readonly clientId: string;
  readonly clientHost: string;
  /** Who the connection has authenticated as; User:ANONYMOUS on a listener without authentication. */
  readonly principal: Principal;
  /** The connection's SASL state on a SASL listener; absent on one without SASL. */
  readonly sasl?: SaslAuthenticator | undefined;
  /** Bytes a fetch may build for this connection now (see kafka-connection.ts, memory-budget.ts). */
  readonly responseBytes: ResponseBytesGrant;
  /** Every API this listener serves, with its versions (ApiVersions answers from it). */
  readonly apis: readonly { apiKey: number; minVersion: number; maxVersion: number }[];
}

/**
 * A connection's grant of response bytes: a fetch asks for what it may return before it reads,
 * and hands the grant back once its response is built (the connection then counts the response
 * itself until the socket has taken it).
 */
export interface ResponseBytesGrant {
  /** At most `wantedBytes`, fewer when the connection or the broker holds much already; at least 1. */
  grant(wantedBytes: number): number;
  giveBack(grantedBytes: number): void;
}

export interface KafkaApi<Request, Response> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * The first version that is flexible (request header v2 with tagged fields, response header v1),
   * Infinity when none is. ApiVersions is the exception: its response header is always v0.
   */
  readonly firstFlexibleVersion: number;
  /** The request and response descriptions its codecs follow (from describedVersions). */
  readonly messages: ApiMessages;
  decode(reader: KafkaReader, version: number): Request;
  /** Resolves with the response, or null when none is sent (Produce with acks=0). */
  handle(request: Request, context: KafkaRequestContext): Promise<Response | null>;
  encode(writer: KafkaWriter, response: Response, version: number): void;
}

/** An API with its request and response types hidden, as the listener dispatches it. */
export interface RegisteredApi {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly firstFlexibleVersion: number;
  readonly messages: ApiMessages;
  /** Decodes synchronously (throws MalformedRequestError), then handles; resolves with an encoder or null. */
  run(reader: KafkaReader, context: KafkaRequestContext): Promise<((writer: KafkaWriter) => void) | null>;
}

export function registerApi<Request, Response>(api: KafkaApi<Request, Response>): RegisteredApi {
  return {
    apiKey: api.apiKey,
    name: api.name,
    minVersion: api.minVersion,
    maxVersion: api.maxVersion,
    firstFlexibleVersion: api.firstFlexibleVersion,
    messages: api.messages,
    run(reader, context) {
      const request = api.decode(reader, context.apiVersion);
      return api
        .handle(request, context)
        .then((response) =>
          response === null
            ? null
            : (writer: KafkaWriter) => api.encode(writer, response, context.apiVersion),
        );
    },
  };
}

/** What describedVersions needs of a codec. */
type CodecVersions = Pick<
  MessageCodec<unknown>,
  'name' | 'minVersion' | 'maxVersion' | 'firstFlexibleVersion' | 'description'
>;

/** The descriptions an API's codecs follow (round-trip tests and fuzzers walk them). */
export interface ApiMessages {
  readonly request: MessageDescription;
  readonly response: MessageDescription;
}

/**
 * The KafkaApi fields that follow from an API's request and response codecs: the versions both
 * describe, and the first flexible one (the request's and the response's must agree).
 */
export function describedVersions(
  request: CodecVersions,
  response: CodecVersions,
): { minVersion: number; maxVersion: number; firstFlexibleVersion: number; messages: ApiMessages } {
  if (request.firstFlexibleVersion !== response.firstFlexibleVersion) {
    throw new Error(`${request.name} and ${response.name} disagree on the first flexible version`);
  }
  return {
    minVersion: Math.max(request.minVersion, response.minVersion),
    maxVersion: Math.min(request.maxVersion, response.maxVersion),
    firstFlexibleVersion: request.firstFlexibleVersion,
    messages: { request: request.description, response: response.description },
  };
}

/** Kafka API keys implemented here. */
export const ApiKey = {
  PRODUCE: 0,
  FETCH: 1,
  LIST_OFFSETS: 2,
  METADATA: 3,
  OFFSET_COMMIT: 8,
  OFFSET_FETCH: 9,
  FIND_COORDINATOR: 10,
  JOIN_GROUP: 11,
  HEARTBEAT: 12,
  LEAVE_GROUP: 13,
  SYNC_GROUP: 14,
  DESCRIBE_GROUPS: 15,
  LIST_GROUPS: 16,
  SASL_HANDSHAKE: 17,
  API_VERSIONS: 18,
  CREATE_TOPICS: 19,
  DELETE_TOPICS: 20,
  DELETE_RECORDS: 21,
  INIT_PRODUCER_ID: 22,
  OFFSET_FOR_LEADER_EPOCH: 23,
  ADD_PARTITIONS_TO_TXN: 24,
  ADD_OFFSETS_TO_TXN: 25,
  END_TXN: 26,
  TXN_OFFSET_COMMIT: 28,
  DESCRIBE_ACLS: 29,
  CREATE_ACLS: 30,
  DELETE_ACLS: 31,
  DESCRIBE_CONFIGS: 32,
  ALTER_CONFIGS: 33,
  DESCRIBE_LOG_DIRS: 35,
  SASL_AUTHENTICATE: 36,
  CREATE_PARTITIONS: 37,
  DELETE_GROUPS: 42,
  ELECT_LEADERS: 43,
  INCREMENTAL_ALTER_CONFIGS: 44,
  OFFSET_DELETE: 47,
  DESCRIBE_USER_SCRAM_CREDENTIALS: 50,
  ALTER_USER_SCRAM_CREDENTIALS: 51,
  DESCRIBE_CLUSTER: 60,
  DESCRIBE_TRANSACTIONS: 65,
  LIST_TRANSACTIONS: 66,
} as const;
