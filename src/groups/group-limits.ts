/**
 * Limits of the group coordinator. Every value a client controls is bounded
 * here (TigerStyle: put a limit on everything) so a misbehaving client cannot
 * hold requests or memory without end.
 */

/** Shortest session timeout accepted (Kafka's group.min.session.timeout.ms, lowered so tests run fast). */
export const SESSION_TIMEOUT_MS_MIN = 100;

/** Longest session timeout accepted (Kafka's group.max.session.timeout.ms default). */
export const SESSION_TIMEOUT_MS_MAX = 30 * 60 * 1000;

/**
 * Longest a rebalance waits for members to rejoin or for the leader's assignment. Clients may ask
 * for more (Kafka Streams sends 2^31-1); the wait is capped here instead of refused so they still work.
 */
export const REBALANCE_TIMEOUT_MS_MAX = 5 * 60 * 1000;

/** Most members one group may hold (Kafka's group.max.size); a join past it gets GROUP_MAX_SIZE_REACHED. */
export const GROUP_MEMBERS_MAX = 1000;

/** Most UTF-8 bytes of metadata stored with one committed offset (Kafka's offset.metadata.max.bytes). */
export const OFFSET_METADATA_BYTES_MAX = 4096;
