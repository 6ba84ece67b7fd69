import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kafkaApis } from '../../src/protocol/kafka/api-registry.js';
import {
  type FieldDescription,
  field,
  inVersions,
  type MessageDescription,
  type ScalarType,
} from '../../src/protocol/kafka/message/description.js';
import { messageCodec } from '../../src/protocol/kafka/message/message-codec.js';
import { concatChunks, KafkaReader, KafkaWriter } from '../../src/protocol/kafka/primitives.js';

/**
 * Round trips through every registered API's request and response
 * descriptions, in every version they describe (at least those the API serves): decode(encode(x)) equals x
 * for arbitrary x of the version's shape (absent fields hold their defaults,
 * as the decoder fills them in). Each round trip also reads the bytes once
 * more split into small pieces, as a request that arrived in several socket
 * reads is read.
 */
type Value = unknown;

function zeroOf(field: FieldDescription): Value {
  if (field.default !== undefined) return field.default;
  const type = field.type;
  if (type === 'struct' || type === 'records') return null;
  if (type.startsWith('[]')) return [];
  if (type === 'bool') return false;
  if (type === 'string') return '';
  if (type === 'uuid') return new Uint8Array(16);
  if (type === 'bytes') return new Uint8Array(0);
  return 0;
}

function scalarArbitrary(type: ScalarType): fc.Arbitrary<Value> {
  switch (type) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'int32':
    case 'varint':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int64':
      return fc.maxSafeInteger();
    case 'float64':
      return fc.double({ noNaN: true });
    case 'bool':
      return fc.boolean();
    case 'uuid':
      return fc.uint8Array({ minLength: 16, maxLength: 16 });
    case 'string':
      return fc.string({ maxLength: 20, unit: 'grapheme' });
    case 'bytes':
    case 'records':
      return fc.uint8Array({ maxLength: 40 });
  }
}

function fieldArbitrary(field: FieldDescription, version: number): fc.Arbitrary<Value> {
  const type = field.type;
  let arbitrary: fc.Arbitrary<Value>;
  if (type === 'struct') arbitrary = structArbitrary(field.fields ?? [], version);
  else if (type === '[]')
    arbitrary = fc.array(structArbitrary(field.fields ?? [], version), { maxLength: 3 });
  else if (type.startsWith('[]')) {
    arbitrary = fc.array(scalarArbitrary(type.slice(2) as ScalarType), { maxLength: 4 });
  } else arbitrary = scalarArbitrary(type as ScalarType);
  return inVersions(field.nullableVersions, version) ? fc.option(arbitrary, { nil: null }) : arbitrary;
}

function structArbitrary(fields: readonly FieldDescription[], version: number): fc.Arbitrary<Value> {
  const record: Record<string, fc.Arbitrary<Value>> = {};
  for (const field of fields) {
    record[field.name] = inVersions(field.versions, version)
      ? fieldArbitrary(field, version)
      : fc.constant(zeroOf(field));
  }
  return fc.record(record);
}

function roundTrip(description: MessageDescription, version: number): void {
  const codec = messageCodec<Value>(description);
  fc.assert(
    fc.property(
      structArbitrary(description.fields, version),
      fc.integer({ min: 1, max: 7 }),
      (value, step) => {
        const writer = new KafkaWriter(16);
        codec.encode(writer, value, version);
        const bytes = concatChunks(writer.finish());
        const reader = new KafkaReader(bytes);
        expect(codec.decode(reader, version)).toEqual(value);
        expect(reader.remaining()).toBe(0);
        const pieces: Uint8Array[] = [];
        for (let at = 0; at < bytes.length; at += step) pieces.push(bytes.subarray(at, at + step));
        const piecewise = KafkaReader.overPieces(pieces);
        expect(codec.decode(piecewise, version)).toEqual(value);
        expect(piecewise.remaining()).toBe(0);
      },
    ),
    { numRuns: 60 },
  );
}

describe('Kafka message codec', () => {
  it('writes a null where the version does not allow one as the default, and keeps it where it does', () => {
    const codec = messageCodec<{ name: string | null }>({
      name: 'Example',
      validVersions: '0-1',
      flexibleVersions: '1+',
      fields: [field('name', 'string', '0+', { nullableVersions: '1+' })],
    });
    const bytesOf = (version: number) => {
      const writer = new KafkaWriter(8);
      codec.encode(writer, { name: null }, version);
      return [...concatChunks(writer.finish())];
    };
    expect(bytesOf(0)).toEqual([0, 0]); // INT16 length 0: the empty string
    expect(bytesOf(1)).toEqual([0, 0]); // compact null (0), then no tagged fields (0)
  });
});

describe('Kafka message descriptions: round trips in every served version', () => {
  it('covers every registered API', () => {
    expect(kafkaApis.length).toBeGreaterThanOrEqual(18);
  });

  for (const api of kafkaApis) {
    it(`${api.name} requests and responses in every described version (served: v${api.minVersion}-${api.maxVersion})`, () => {
      for (const description of [api.messages.request, api.messages.response]) {
        const { minVersion, maxVersion } = messageCodec(description);
        expect(minVersion).toBeLessThanOrEqual(api.minVersion);
        expect(maxVersion).toBeGreaterThanOrEqual(api.maxVersion);
        for (let version = minVersion; version <= maxVersion; version++) roundTrip(description, version);
      }
    });
  }
});
