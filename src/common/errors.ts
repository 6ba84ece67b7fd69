import { KafkaErrorCode, kafkaErrorName } from './kafka-error-code.js';

/**
 * An operating error: something a client or the environment did that the
 * broker answers rather than crashes on. Each carries the Kafka error code it
 * maps to, so a front door never has to guess. Programming errors (broken
 * invariants) are plain `AssertionError`s and are not caught as these.
 */
export class PyralogError extends Error {
  readonly kafkaCode: KafkaErrorCode;

  /**
   * With `stackless`, no stack trace is captured: for errors that answer a
   * client (a malformed request) rather than report a bug, where capturing
   * one would cost microseconds per garbage frame on the acceptor thread.
   */
  constructor(
    kafkaCode: KafkaErrorCode,
    message: string,
    options?: { cause?: unknown; stackless?: boolean },
  ) {
    const resumeStackTraces = options?.stackless === true ? pauseStackTraces() : null;
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    resumeStackTraces?.();
    this.name = 'PyralogError';
    this.kafkaCode = kafkaCode;
  }

  /** The stable, client-visible name of the error, e.g. `CORRUPT_MESSAGE`. */
  get code(): string {
    return kafkaErrorName(this.kafkaCode);
  }
}

/**
 * Turns stack-trace capture off and returns the function that turns it back
 * on. The one place that plays with `Error.stackTraceLimit`.
 */
function pauseStackTraces(): () => void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  return () => {
    Error.stackTraceLimit = limit;
  };
}

/** Runs `run` without capturing stack traces for errors it throws (e.g. JSON.parse on client input). */
export function withoutStackTraces<T>(run: () => T): T {
  const resume = pauseStackTraces();
  try {
    return run();
  } finally {
    resume();
  }
}

/** An error that answers a client (a malformed frame or message) rather than reports a bug: no stack trace. */
export class ClientInputError extends Error {
  constructor(message: string) {
    const resume = pauseStackTraces();
    super(message);
    resume();
    this.name = 'ClientInputError';
  }
}

/** A record batch that fails validation: bad length, magic, CRC, counts or attributes. */
export class InvalidBatchError extends PyralogError {
  constructor(kafkaCode: KafkaErrorCode, message: string) {
    super(kafkaCode, message);
    this.name = 'InvalidBatchError';
  }
}

/** A batch uses a compression codec this build cannot open (it is still stored untouched). */
export class UnsupportedCompressionError extends PyralogError {
  constructor(codecName: string) {
    super(
      KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `compression codec ${codecName} is not supported here`,
    );
    this.name = 'UnsupportedCompressionError';
  }
}

/** Damage found on disk that recovery could not repair by truncating the active segment's tail. */
export class StorageCorruptionError extends PyralogError {
  constructor(message: string) {
    super(KafkaErrorCode.KAFKA_STORAGE_ERROR, message);
    this.name = 'StorageCorruptionError';
  }
}

/** A configuration value that failed validation; `option` names it as the user wrote it. */
export class ConfigError extends PyralogError {
  readonly option: string;

  constructor(option: string, message: string) {
    super(KafkaErrorCode.INVALID_CONFIG, `${option}: ${message}`);
    this.name = 'ConfigError';
    this.option = option;
  }
}

/** The message of anything thrown: an Error's message, or the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Throws an `Error` naming a broken invariant. Used where continuing would corrupt state. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
