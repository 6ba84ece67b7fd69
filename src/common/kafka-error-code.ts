/**
 * Kafka protocol error codes, as numbered in the Kafka protocol guide. Every
 * typed error in Pyralog maps to one of these so both front doors can answer
 * with the code a Kafka client already understands.
 */
export const KafkaErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  SECURITY_DISABLED: 54,
  KAFKA_STORAGE_ERROR: 56,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  GROUP_SUBSCRIBED_TO_TOPIC: 86,
  INVALID_RECORD: 87,
  THROTTLING_QUOTA_EXCEEDED: 89,
  RESOURCE_NOT_FOUND: 91,
  DUPLICATE_RESOURCE: 92,
  UNACCEPTABLE_CREDENTIAL: 93,
  UNKNOWN_TOPIC_ID: 100,
} as const;

export type KafkaErrorName = keyof typeof KafkaErrorCode;
export type KafkaErrorCode = (typeof KafkaErrorCode)[KafkaErrorName];

const namesByCode = new Map<number, KafkaErrorName>(
  (Object.keys(KafkaErrorCode) as KafkaErrorName[]).map((name) => [KafkaErrorCode[name], name]),
);

/** The name of a Kafka error code, for messages and the JSON front door. */
export function kafkaErrorName(code: number): KafkaErrorName | 'UNKNOWN' {
  return namesByCode.get(code) ?? 'UNKNOWN';
}

/** Errors a client may retry after a short wait (Kafka's RetriableException family). */
export function isRetriable(code: number): boolean {
  return (
    code === KafkaErrorCode.LEADER_NOT_AVAILABLE ||
    code === KafkaErrorCode.NOT_LEADER_OR_FOLLOWER ||
    code === KafkaErrorCode.REQUEST_TIMED_OUT ||
    code === KafkaErrorCode.NETWORK_EXCEPTION ||
    code === KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS ||
    code === KafkaErrorCode.COORDINATOR_NOT_AVAILABLE ||
    code === KafkaErrorCode.NOT_COORDINATOR ||
    code === KafkaErrorCode.KAFKA_STORAGE_ERROR ||
    code === KafkaErrorCode.CORRUPT_MESSAGE ||
    code === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  );
}
