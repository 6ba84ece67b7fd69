import { concatChunks, type KafkaReader, KafkaWriter, MalformedRequestError } from '../primitives.js';
import {
  type FieldDescription,
  firstFlexibleVersion,
  inVersions,
  type MessageDescription,
  parseVersions,
  type ScalarType,
} from './description.js';

/**
 * Turns a message description (description.ts) into one decoder and one
 * encoder per version, built once when the module loads. Each is plain
 * JavaScript generated from the description, specialised to its version:
 * the fields of that version read or written in order by the KafkaReader or
 * KafkaWriter method for their type and encoding (compact in flexible
 * versions), each struct decoded into one object literal (one hidden class
 * per struct and version), with no lookups by field name at run time. So a
 * described codec costs what a hand-written one does, and byte fields stay
 * views into the request (`records` also go out as views, uncopied).
 *
 * The generated source comes only from the descriptions in this repository
 * (field names are checked to be identifiers); no request data reaches it.
 *
 * Decoding fills every field of the struct, so handlers see one shape for
 * all versions: a field absent from the version gets its default. Encoding
 * writes the fields of the version; a property that is undefined is written
 * as the field's default, so a response object need not carry fields a
 * handler never sets (e.g. throttle_time_ms), and so is a null where the
 * version does not allow one (a name nullable only in newer versions).
 */
export interface MessageCodec<T> {
  readonly name: string;
  readonly description: MessageDescription;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Infinity when no version is flexible. */
  readonly firstFlexibleVersion: number;
  /** Throws MalformedRequestError when the bytes do not hold the message. */
  decode(reader: KafkaReader, version: number): T;
  encode(writer: KafkaWriter, value: T, version: number): void;
}

type Decoder = (reader: KafkaReader) => unknown;
type Encoder = (writer: KafkaWriter, value: unknown) => void;

const EMPTY_BYTES = new Uint8Array(0);
const ZERO_UUID = new Uint8Array(16);

/** Writes one tagged field: tag, size, then the bytes `write` produces. */
function writeTagged(writer: KafkaWriter, tag: number, write: (scratch: KafkaWriter) => void): void {
  const scratch = new KafkaWriter(64);
  write(scratch);
  const bytes = concatChunks(scratch.finish());
  writer.uvarint(tag).uvarint(bytes.length).raw(bytes);
}

const helpers = { EMPTY_BYTES, ZERO_UUID, writeTagged, MalformedRequestError };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isNumeric(type: ScalarType): boolean {
  return (
    type === 'int8' ||
    type === 'int16' ||
    type === 'int32' ||
    type === 'int64' ||
    type === 'uint16' ||
    type === 'varint' ||
    type === 'float64'
  );
}

/** The JavaScript expression of a field's default. */
function defaultExpression(field: FieldDescription): string {
  if (field.default !== undefined) return JSON.stringify(field.default);
  const type = field.type;
  if (type === 'struct') return 'null';
  if (type.startsWith('[]')) return '[]';
  const scalar = type as ScalarType;
  if (isNumeric(scalar)) return '0';
  if (scalar === 'bool') return 'false';
  if (scalar === 'string') return '""';
  if (scalar === 'uuid') return 'h.ZERO_UUID';
  if (scalar === 'records') return 'null';
  return 'h.EMPTY_BYTES';
}

/** Source being generated for one message and version: helper functions, then the entry point. */
class Generator {
  private readonly functions: string[] = [];
  private counter = 0;

  constructor(
    private readonly version: number,
    private readonly flexible: boolean,
  ) {}

  private nextName(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  private add(name: string, params: string, body: string[]): string {
    this.functions.push(`function ${name}(${params}) {\n  ${body.join('\n  ')}\n}`);
    return name;
  }

  source(entry: string): string {
    return `"use strict";\n${this.functions.join('\n')}\nreturn ${entry};`;
  }

  private present(field: FieldDescription): boolean {
    return inVersions(field.versions, this.version);
  }

  private isTagged(field: FieldDescription): boolean {
    return this.flexible && inVersions(field.taggedVersions, this.version);
  }

  private nullable(field: FieldDescription): boolean {
    return inVersions(field.nullableVersions, this.version);
  }

  private checkField(field: FieldDescription): void {
    if (!IDENTIFIER.test(field.name)) throw new Error(`field name '${field.name}' is not an identifier`);
    if (field.taggedVersions !== undefined && field.tag === undefined) {
      throw new Error(`tagged field '${field.name}' has no tag`);
    }
  }

  /** The expression reading one scalar of `type` from `r`. */
  private readScalar(type: ScalarType, nullable: boolean): string {
    const f = this.flexible;
    switch (type) {
      case 'int8':
      case 'int16':
      case 'int32':
      case 'int64':
      case 'uint16':
      case 'varint':
      case 'float64':
      case 'uuid':
        return `r.${type}()`;
      case 'bool':
        return 'r.boolean()';
      case 'string':
        return f
          ? nullable
            ? 'r.compactNullableString()'
            : 'r.compactString()'
          : nullable
            ? 'r.nullableString()'
            : 'r.string()';
      case 'bytes':
      case 'records':
        return f
          ? nullable
            ? 'r.compactNullableBytes()'
            : 'r.compactBytes()'
          : nullable
            ? 'r.nullableBytes()'
            : 'r.bytesField()';
    }
  }

  /** The statement writing scalar `value` of `type` to `w`. */
  private writeScalar(type: ScalarType, nullable: boolean, value: string): string {
    const f = this.flexible;
    switch (type) {
      case 'int8':
      case 'int16':
      case 'int32':
      case 'int64':
      case 'uint16':
      case 'varint':
      case 'float64':
      case 'uuid':
        return `w.${type}(${value});`;
      case 'bool':
        return `w.boolean(${value});`;
      case 'string':
        return f
          ? `w.${nullable ? 'compactNullableString' : 'compactString'}(${value});`
          : `w.${nullable ? 'nullableString' : 'string'}(${value});`;
      case 'bytes':
        return f
          ? `w.${nullable ? 'compactNullableBytes' : 'compactBytes'}(${value});`
          : `w.${nullable ? 'nullableBytes' : 'bytesField'}(${value});`;
      case 'records':
        return f
          ? `if (${value} === null) w.uvarint(0); else w.compactBytesView(${value});`
          : `if (${value} === null) w.int32(-1); else w.bytesView(${value});`;
    }
  }

  /** The expression reading `field` (present in this version) from `r`. */
  private readField(field: FieldDescription): string {
    const nullable = this.nullable(field);
    const type = field.type;
    if (type === 'struct') {
      const decoder = this.structDecoder(field.fields ?? []);
      if (!nullable) return `${decoder}(r)`;
      // A nullable struct is preceded by an INT8: -1 null, 1 present.
      return `(r.int8() < 0 ? null : ${decoder}(r))`;
    }
    if (type.startsWith('[]')) {
      const element =
        type === '[]'
          ? this.structDecoder(field.fields ?? [])
          : this.add(this.nextName('readElement'), 'r', [
              `return ${this.readScalar(type.slice(2) as ScalarType, false)};`,
            ]);
      const method = this.flexible
        ? nullable
          ? 'compactNullableArray'
          : 'compactArray'
        : nullable
          ? 'nullableArray'
          : 'array';
      return `r.${method}(${element})`;
    }
    return this.readScalar(type as ScalarType, nullable);
  }

  /** The statements writing `value` as `field` (present in this version) to `w`. */
  private writeField(field: FieldDescription, value: string): string {
    const nullable = this.nullable(field);
    const type = field.type;
    if (type === 'struct') {
      const encoder = this.structEncoder(field.fields ?? []);
      if (!nullable) return `${encoder}(w, ${value});`;
      return `if (${value} === null) w.int8(-1); else { w.int8(1); ${encoder}(w, ${value}); }`;
    }
    if (type.startsWith('[]')) {
      const element =
        type === '[]'
          ? this.structEncoder(field.fields ?? [])
          : this.add(this.nextName('writeElement'), 'w, x', [
              this.writeScalar(type.slice(2) as ScalarType, false, 'x'),
            ]);
      const method = this.flexible ? 'compactArray' : 'array';
      if (!nullable) return `w.${method}(${value}, ${element});`;
      const writeNull = this.flexible ? 'w.uvarint(0);' : 'w.int32(-1);';
      return `if (${value} === null) ${writeNull} else w.${method}(${value}, ${element});`;
    }
    return this.writeScalar(type as ScalarType, nullable, value);
  }

  /** A function decoding one struct of `fields` in this version; returns its name. */
  structDecoder(fields: readonly FieldDescription[]): string {
    const name = this.nextName('decode');
    const body: string[] = [];
    const properties: string[] = [];
    const taggedCases: string[] = [];
    fields.forEach((field, i) => {
      this.checkField(field);
      const local = `v${i}`;
      properties.push(`${field.name}: ${local}`);
      if (!this.present(field)) {
        body.push(`const ${local} = ${defaultExpression(field)};`);
      } else if (this.isTagged(field)) {
        body.push(`let ${local} = ${defaultExpression(field)};`);
        taggedCases.push(`case ${field.tag}: ${local} = ${this.readField(field)}; return true;`);
      } else {
        body.push(`const ${local} = ${this.readField(field)};`);
      }
    });
    if (this.flexible) {
      body.push(
        taggedCases.length === 0
          ? 'r.taggedFields(null);'
          : `r.taggedFields((tag) => { switch (tag) { ${taggedCases.join(' ')} default: return false; } });`,
      );
    }
    body.push(`return { ${properties.join(', ')} };`);
    return this.add(name, 'r', body);
  }

  /** A function encoding one struct of `fields` in this version; returns its name. */
  structEncoder(fields: readonly FieldDescription[]): string {
    const name = this.nextName('encode');
    const body: string[] = [];
    const tagged: FieldDescription[] = [];
    fields.forEach((field, i) => {
      this.checkField(field);
      if (!this.present(field)) return;
      const local = `v${i}`;
      const property = `o.${field.name}`;
      // An undefined property means "the default". Nullable fields keep an explicit null; a null in a
      // version where the field may not be null is written as the default, never as a null on the wire.
      const missing = this.nullable(field) ? `${local} === undefined` : `${local} == null`;
      body.push(`let ${local} = ${property}; if (${missing}) ${local} = ${defaultExpression(field)};`);
      if (this.isTagged(field)) tagged.push(field);
      else body.push(this.writeField(field, local));
    });
    if (this.flexible) {
      if (tagged.length === 0) {
        body.push('w.uvarint(0);');
      } else {
        // A tagged field is written only when it differs from its default, in tag order.
        const sorted = [...tagged].sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
        const conditions = sorted.map((field) => {
          const local = `v${fields.indexOf(field)}`;
          const type = field.type;
          if (type === 'struct' || type === 'bytes' || type === 'records' || type === 'uuid') {
            return `${local} !== null`;
          }
          if (type.startsWith('[]')) return `${local} !== null && ${local}.length > 0`;
          return `${local} !== ${defaultExpression(field)}`;
        });
        body.push(`let tagCount = 0;`);
        for (const condition of conditions) body.push(`if (${condition}) tagCount++;`);
        body.push('w.uvarint(tagCount);');
        sorted.forEach((field, i) => {
          const local = `v${fields.indexOf(field)}`;
          body.push(
            `if (${conditions[i]}) h.writeTagged(w, ${field.tag}, (w) => { ${this.writeField(field, local)} });`,
          );
        });
      }
    }
    return this.add(name, 'w, o', body);
  }
}

function compile(source: string): Decoder | Encoder {
  // The source is generated from this repository's descriptions only (see the comment at the top).
  const factory = new Function('h', source) as (h: typeof helpers) => Decoder | Encoder;
  return factory(helpers);
}

/** Generates the decoder for `version` (exported for tests and for reading the generated code). */
export function decoderSource(description: MessageDescription, version: number): string {
  const generator = new Generator(version, version >= firstFlexibleVersion(description));
  return generator.source(generator.structDecoder(description.fields));
}

export function encoderSource(description: MessageDescription, version: number): string {
  const generator = new Generator(version, version >= firstFlexibleVersion(description));
  return generator.source(generator.structEncoder(description.fields));
}

/** The codec of a described message, every version compiled up front. */
export function messageCodec<T>(description: MessageDescription): MessageCodec<T> {
  const { min, max } = parseVersions(description.validVersions);
  const decoders: Decoder[] = [];
  const encoders: Encoder[] = [];
  for (let version = min; version <= max; version++) {
    decoders[version] = compile(decoderSource(description, version)) as Decoder;
    encoders[version] = compile(encoderSource(description, version)) as Encoder;
  }
  const name = description.name;
  return {
    name,
    description,
    minVersion: min,
    maxVersion: max,
    firstFlexibleVersion: firstFlexibleVersion(description),
    decode(reader, version) {
      const decoder = decoders[version];
      if (decoder === undefined) throw new MalformedRequestError(`${name} has no version ${version}`);
      return decoder(reader) as T;
    },
    encode(writer, value, version) {
      const encoder = encoders[version];
      if (encoder === undefined) throw new RangeError(`${name} has no version ${version}`);
      encoder(writer, value);
    },
  };
}
