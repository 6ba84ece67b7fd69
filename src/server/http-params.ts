import type { Acks } from '../engine/engine-api.js';
import { FrontDoorError, FrontDoorProblem } from '../protocol/front-door-errors.js';

/**
 * Parsing of what an HTTP client controls in the URL and body: path
 * parameters, query values and JSON. Each bad value becomes a 400 naming the
 * value, never an exception that escapes a handler.
 */
function bad(message: string): FrontDoorProblem {
  return new FrontDoorProblem(FrontDoorError.BAD_REQUEST, message);
}

/** A percent-decoded path segment; malformed escapes (`%E0%A4%A`) are a 400, not a URIError. */
export function pathParameter(raw: string | undefined, name: string): string {
  try {
    return decodeURIComponent(raw ?? '');
  } catch {
    throw bad(`${name} in the path is not valid percent-encoded UTF-8`);
  }
}

const DIGITS = /^\d{1,16}$/;

/** A whole number in decimal digits, within bounds; `fallback` when absent or empty. */
export function integerParameter(
  raw: string | null | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === null || raw === undefined || raw === '') return fallback;
  const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw bad(`${name} must be a whole number from ${min} to ${max}, got "${raw.slice(0, 40)}"`);
  }
  return value;
}

/** A bounded query value: what the request gets, and whether it asked for more than the broker allows. */
export interface ClampedInteger {
  value: number;
  clamped: boolean;
}

const ALL_DIGITS = /^\d+$/;

/**
 * A whole number in decimal digits of at least `min`; above `max` it is
 * lowered to `max` rather than refused, as Kafka lowers a fetch size to the
 * broker's limit. Any run of digits counts, however long (it is far above
 * `max`); anything else, or a value under `min`, is a 400.
 */
export function clampedIntegerParameter(
  raw: string | null | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): ClampedInteger {
  if (raw === null || raw === undefined || raw === '') return { value: fallback, clamped: false };
  if (!ALL_DIGITS.test(raw)) {
    throw bad(`${name} must be a whole number of at least ${min}, got "${raw.slice(0, 40)}"`);
  }
  const value = Number(raw);
  if (value < min) throw bad(`${name} must be a whole number of at least ${min}, got "${raw.slice(0, 40)}"`);
  return value > max ? { value: max, clamped: true } : { value, clamped: false };
}

export function acksParameter(raw: string | null): Acks {
  if (raw === null || raw === '' || raw === 'all' || raw === '-1') return -1;
  if (raw === '1') return 1;
  if (raw === '0') return 0;
  throw bad('acks must be 0, 1, -1 or all');
}

/** One of `allowed`, or `fallback` when absent. */
export function choiceParameter<T extends string>(
  raw: string | null,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (raw === null || raw === '') return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw bad(`${name} must be one of ${allowed.join(', ')}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseJsonBody(body: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw bad('body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw bad(`body is not valid JSON: ${(error as Error).message}`);
  }
}
