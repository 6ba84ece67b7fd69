import { KafkaErrorCode, kafkaErrorName } from '../common/kafka-error-code.js';

/**
 * The error codes the HTTP and WebSocket front doors answer with: stable
 * strings a script can match on, each with its HTTP status. Engine and
 * coordinator errors arrive as Kafka codes and are mapped here, in one place.
 */
export const FrontDoorError = {
  BAD_REQUEST: { code: 'BAD_REQUEST', status: 400 },
  NOT_FOUND: { code: 'NOT_FOUND', status: 404 },
  METHOD_NOT_ALLOWED: { code: 'METHOD_NOT_ALLOWED', status: 405 },
  UNKNOWN_TOPIC: { code: 'UNKNOWN_TOPIC', status: 404 },
  TOPIC_EXISTS: { code: 'TOPIC_EXISTS', status: 409 },
  UNKNOWN_GROUP: { code: 'UNKNOWN_GROUP', status: 404 },
  GROUP_NOT_EMPTY: { code: 'GROUP_NOT_EMPTY', status: 409 },
  TOO_LARGE: { code: 'TOO_LARGE', status: 413 },
  OFFSET_OUT_OF_RANGE: { code: 'OFFSET_OUT_OF_RANGE', status: 416 },
  INVALID_RECORDS: { code: 'INVALID_RECORDS', status: 400 },
  INVALID_CONFIG: { code: 'INVALID_CONFIG', status: 400 },
  TOO_MANY_IN_FLIGHT: { code: 'TOO_MANY_IN_FLIGHT', status: 429 },
  UNAVAILABLE: { code: 'UNAVAILABLE', status: 503 },
  INTERNAL: { code: 'INTERNAL', status: 500 },
} as const;

export type FrontDoorErrorKind = (typeof FrontDoorError)[keyof typeof FrontDoorError];

/** A front-door error ready to send: kind plus a message for humans. */
export class FrontDoorProblem extends Error {
  constructor(
    readonly kind: FrontDoorErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'FrontDoorProblem';
  }
}

export function fromKafkaCode(code: number): FrontDoorErrorKind {
  switch (code) {
    case KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return FrontDoorError.UNKNOWN_TOPIC;
    case KafkaErrorCode.TOPIC_ALREADY_EXISTS:
      return FrontDoorError.TOPIC_EXISTS;
    case KafkaErrorCode.OFFSET_OUT_OF_RANGE:
      return FrontDoorError.OFFSET_OUT_OF_RANGE;
    case KafkaErrorCode.MESSAGE_TOO_LARGE:
    case KafkaErrorCode.RECORD_LIST_TOO_LARGE:
      return FrontDoorError.TOO_LARGE;
    case KafkaErrorCode.CORRUPT_MESSAGE:
    case KafkaErrorCode.INVALID_RECORD:
    case KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE:
    case KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER:
    case KafkaErrorCode.INVALID_PRODUCER_EPOCH:
    case KafkaErrorCode.INVALID_TXN_STATE:
      return FrontDoorError.INVALID_RECORDS;
    case KafkaErrorCode.GROUP_ID_NOT_FOUND:
      return FrontDoorError.UNKNOWN_GROUP;
    case KafkaErrorCode.NON_EMPTY_GROUP:
    case KafkaErrorCode.UNKNOWN_MEMBER_ID:
    case KafkaErrorCode.REBALANCE_IN_PROGRESS:
    case KafkaErrorCode.ILLEGAL_GENERATION:
      return FrontDoorError.GROUP_NOT_EMPTY;
    case KafkaErrorCode.POLICY_VIOLATION:
      return FrontDoorError.BAD_REQUEST;
    case KafkaErrorCode.INVALID_CONFIG:
    case KafkaErrorCode.INVALID_PARTITIONS:
    case KafkaErrorCode.INVALID_TOPIC_EXCEPTION:
    case KafkaErrorCode.INVALID_REPLICATION_FACTOR:
      return FrontDoorError.INVALID_CONFIG;
    case KafkaErrorCode.NOT_LEADER_OR_FOLLOWER:
    case KafkaErrorCode.LEADER_NOT_AVAILABLE:
    case KafkaErrorCode.REQUEST_TIMED_OUT:
    case KafkaErrorCode.KAFKA_STORAGE_ERROR:
    case KafkaErrorCode.COORDINATOR_NOT_AVAILABLE:
    // Cluster mode: the group is coordinated by another broker, or its offsets are still loading here.
    case KafkaErrorCode.NOT_COORDINATOR:
    case KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
      return FrontDoorError.UNAVAILABLE;
    default:
      return FrontDoorError.INTERNAL;
  }
}

export function problemFromKafkaCode(code: number, context: string): FrontDoorProblem {
  return new FrontDoorProblem(fromKafkaCode(code), `${context}: ${kafkaErrorName(code)}`);
}
