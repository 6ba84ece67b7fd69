/**
 * How the `pyralog` command fails, one class per kind of failure, each with
 * its own exit code, so scripts can tell "you typed it wrong" from "the broker
 * is down" from "no such topic" without reading the message.
 *
 *   0  success
 *   1  anything else (a bug, an unexpected answer)
 *   2  usage: unknown command or option, missing or malformed argument
 *   3  the broker cannot be reached
 *   4  not found: topic, partition, group
 *   5  conflict: it already exists, or the group is in use
 *   6  refused: the broker judged the request invalid (bad config, bad SQL, too large)
 *   7  unavailable: the broker is busy or timed out; retrying may work
 */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  NOT_FOUND: 4,
  CONFLICT: 5,
  REFUSED: 6,
  UNAVAILABLE: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A mistake on the command line; the message is followed by the command's usage. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message, ExitCode.USAGE);
    this.name = 'UsageError';
  }
}

/** The exit code for an HTTP error status from the broker. */
export function exitCodeForStatus(status: number): ExitCodeValue {
  if (status === 404) return ExitCode.NOT_FOUND;
  if (status === 409) return ExitCode.CONFLICT;
  if (status === 503 || status === 504 || status === 429) return ExitCode.UNAVAILABLE;
  if (status >= 400 && status < 500) return ExitCode.REFUSED;
  return ExitCode.FAILURE;
}
