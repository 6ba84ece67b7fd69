/**
 * Kafka messages described as data: each request and response is a list of
 * fields, each with the versions it exists in, its type, whether it may be
 * null (and from which version), its default, and its tag when it is a
 * tagged field. The message says which versions exist and from which one it
 * is flexible (compact strings, bytes and arrays; a tagged-field section at
 * the end of every struct; request header v2 and response header v1).
 * message-codec.ts turns a description into a decoder and an encoder per
 * version; nothing else spells a Kafka grammar.
 *
 * The facts (field order, versions, types, tags, defaults) come from Apache
 * Kafka's message schemas (clients/src/main/resources/common/message/
 * <Api>Request.json and <Api>Response.json); the descriptions are written
 * here, in this form, for this broker.
 *
 * How to add a version to an API: raise `validVersions` of its request and
 * response descriptions (and, the first time, set `flexibleVersions`), add
 * the fields the new version brings with `versions: 'N+'` (or narrow the
 * range of fields it drops), and teach the handler what they mean. The API
 * advertises the versions both descriptions cover (`describedVersions` in
 * api.ts; an API may cap them lower, as DescribeConfigs does). How to add an
 * API: write its request and response descriptions next to its handler in
 * src/protocol/kafka/<api>.ts (heartbeat.ts is the smallest example), give
 * the TS types of the decoded request and of the response, spread
 * `describedVersions(request, response)` into the KafkaApi (which requires
 * the descriptions), and list it in api-registry.ts. The round-trip property
 * test (test/kafka/message-codec.test.ts) then covers every version of it.
 */

/** Types a field can hold. `records` is nullable bytes that are sent as a view (never copied). */
export type ScalarType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'varint'
  | 'float64'
  | 'bool'
  | 'uuid'
  | 'string'
  | 'bytes'
  | 'records';

/**
 * A field's type: a scalar, an array of scalars (`[]int32`), an array of
 * structs (`[]`, with `fields`), or one struct (`struct`, with `fields`).
 */
export type FieldType = ScalarType | `[]${ScalarType}` | '[]' | 'struct';

/** A default for a scalar field (arrays default to empty, structs to null, bytes to empty). */
export type DefaultValue = number | boolean | string | null;

export interface FieldDescription {
  /** The property that holds the field in the decoded object (camelCase of Kafka's name). */
  readonly name: string;
  readonly type: FieldType;
  /** Versions the field exists in: `N+`, `N-M`, `N` or `none`. */
  readonly versions: string;
  /** Versions in which it may be null (strings, bytes, records, arrays, structs). */
  readonly nullableVersions?: string;
  /** Versions in which it is a tagged field (flexible versions only), with `tag`. */
  readonly taggedVersions?: string;
  readonly tag?: number;
  /** The value when absent from a version or from the wire; the type's zero when not given. */
  readonly default?: DefaultValue;
  /** For `[]` and `struct`: the struct's fields. */
  readonly fields?: readonly FieldDescription[];
}

export interface MessageDescription {
  /** Kafka's name for it, e.g. `ProduceRequest`. */
  readonly name: string;
  readonly validVersions: string;
  /** `N+` or `none`. */
  readonly flexibleVersions: string;
  readonly fields: readonly FieldDescription[];
}

export interface FieldOptions {
  readonly nullableVersions?: string;
  readonly taggedVersions?: string;
  readonly tag?: number;
  readonly default?: DefaultValue;
  readonly fields?: readonly FieldDescription[];
}

/** Shorthand for a field: `field('acks', 'int16', '0+')`. */
export function field(
  name: string,
  type: FieldType,
  versions: string,
  options: FieldOptions = {},
): FieldDescription {
  return { name, type, versions, ...options };
}

/** Shorthand for an array of structs: `structs('topics', '0+', [...fields])`. */
export function structs(
  name: string,
  versions: string,
  fields: readonly FieldDescription[],
  options: Omit<FieldOptions, 'fields'> = {},
): FieldDescription {
  return { name, type: '[]', versions, fields, ...options };
}

/** Shorthand for a tagged field: present only as tag `tag` in `taggedVersions` (which are also its versions). */
export function tagged(
  name: string,
  type: FieldType,
  taggedVersions: string,
  tag: number,
  options: Omit<FieldOptions, 'tag' | 'taggedVersions'> = {},
): FieldDescription {
  return { name, type, versions: taggedVersions, taggedVersions, tag, ...options };
}

/** An inclusive version range; `none` is empty (min > max). */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

const OPEN_ENDED = 0x7fff;

export function parseVersions(spec: string): VersionRange {
  if (spec === 'none') return { min: 1, max: 0 };
  let match = /^(\d+)\+$/.exec(spec);
  if (match !== null) return { min: Number(match[1]), max: OPEN_ENDED };
  match = /^(\d+)-(\d+)$/.exec(spec);
  if (match !== null) return { min: Number(match[1]), max: Number(match[2]) };
  match = /^(\d+)$/.exec(spec);
  if (match !== null) return { min: Number(match[1]), max: Number(match[1]) };
  throw new Error(`bad version range '${spec}'`);
}

export function inVersions(spec: string | undefined, version: number): boolean {
  if (spec === undefined) return false;
  const range = parseVersions(spec);
  return version >= range.min && version <= range.max;
}

/** The first flexible version of a message, or Infinity when none is. */
export function firstFlexibleVersion(description: MessageDescription): number {
  return description.flexibleVersions === 'none'
    ? Number.POSITIVE_INFINITY
    : parseVersions(description.flexibleVersions).min;
}
