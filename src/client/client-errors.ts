/** An error the broker answered with (an ERROR frame), or a connection failure, as the client raises it. */
export class PyralogClientError extends Error {
  constructor(
    /** The broker's stable error code (UNKNOWN_TOPIC, BAD_REQUEST, …) or DISCONNECTED / TIMEOUT. */
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'PyralogClientError';
  }
}
