import type { FrontDoorDeps } from '../front-door-deps.js';
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
  /** Decodes synchronously (throws MalformedRequestError), then handles; resolves with an encoder or null. */
  run(reader: KafkaReader, context: KafkaRequestContext): Promise<((writer: KafkaWriter) => void) | null>;
}

export function registerApi<Request, Response>(api: KafkaApi<Request, Response>): RegisteredApi {
  return {
    apiKey: api.apiKey,
    name: api.name,
    minVersion: api.minVersion,
    maxVersion: api.maxVersion,
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
  API_VERSIONS: 18,
  CREATE_TOPICS: 19,
  DELETE_TOPICS: 20,
  INIT_PRODUCER_ID: 22,
  DESCRIBE_CONFIGS: 32,
} as const;
