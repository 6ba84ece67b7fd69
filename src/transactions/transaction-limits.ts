/**
 * The coordinator's limits and timings, with Kafka's defaults where Kafka has one.
 */

/** Kafka's transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for. */
export const TRANSACTION_MAX_TIMEOUT_MS_DEFAULT = 900_000;

/**
 * How often ongoing transactions are checked for expiry (Kafka checks every
 * 10 s, transaction.abort.timed.out.transaction.cleanup.interval.ms); a
 * transaction is aborted at most this long after its timeout.
 */
export const TRANSACTION_ABORT_CHECK_INTERVAL_MS_DEFAULT = 1_000;

/** Most partitions one transaction may hold: each costs a marker and a few bytes of state. */
export const TRANSACTION_PARTITIONS_MAX = 100_000;

/** Retry delays for a marker or a state write that failed (retriable errors), doubling to the cap. */
export const MARKER_RETRY_FIRST_MS = 50;
export const MARKER_RETRY_MAX_MS = 2_000;

/**
 * Kafka's transactional.id.expiration.ms: a transactional id with no transaction under way and no
 * change for this long is forgotten (a tombstone in __transaction_state); its next InitProducerId
 * starts it afresh with a new producer id.
 */
export const TRANSACTIONAL_ID_EXPIRATION_MS_DEFAULT = 7 * 24 * 3600 * 1000;
