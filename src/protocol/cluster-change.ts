import { errorMessage, PyralogError } from '../common/errors.js';
import { KafkaErrorCode } from '../common/kafka-error-code.js';

/** What a front door answers for one change of a topic in etcd. */
export interface ClusterChangeOutcome {
  errorCode: KafkaErrorCode;
  errorMessage: string | null;
}

/**
 * Runs one change of the topics in etcd (cluster mode): NONE when etcd took it; a PyralogError's own
 * code and message; anything else (etcd unreachable, no quorum) REQUEST_TIMED_OUT, retriable.
 */
export async function clusterChange(change: () => Promise<unknown>): Promise<ClusterChangeOutcome> {
  try {
    await change();
    return { errorCode: KafkaErrorCode.NONE, errorMessage: null };
  } catch (error) {
    if (error instanceof PyralogError) return { errorCode: error.kafkaCode, errorMessage: error.message };
    return {
      errorCode: KafkaErrorCode.REQUEST_TIMED_OUT,
      errorMessage: `etcd did not take the change: ${errorMessage(error)}`,
    };
  }
}
