import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import { bench, do_not_optimize } from 'mitata';
import { encodeRecords } from '../src/record/batch-builder.js';
import type { ProducedRecord } from '../src/record/record.js';
import { runWithRatios } from './support/mitata-ratios.js';

/**
 * `npm run bench -- codec-choice`: how the Node libraries that could give the
 * broker snappy, lz4 and zstd compare, on a records section a producer would
 * send (100 records of ~200-byte JSON-like values, ~22 KB plain). This is the
 * measurement the kept libraries were chosen by (bench/RESULTS.md). Each
 * candidate that is not installed is skipped; to run all of them:
 *
 *   npm install --no-save snappy @napi-rs/snappy lz4-napi @toondepauw/node-zstd @mongodb-js/zstd@1 zstd-napi
 *
 * The baseline is a memcpy of the plain section; gzip (node:zlib) is shown
 * beside them as the codec Node already has.
 */
const require = createRequire(import.meta.url);

type Sync = (input: Uint8Array) => Uint8Array;
interface Candidate {
  name: string;
  compress: Sync;
  decompress: Sync;
}

function load(name: string): Record<string, unknown> | null {
  try {
    return require(name) as Record<string, unknown>;
  } catch {
    console.log(`(skipped: ${name} is not installed)`);
    return null;
  }
}

function candidates(): Candidate[] {
  const out: Candidate[] = [
    { name: 'gzip (node:zlib)', compress: (b) => gzipSync(b), decompress: (b) => gunzipSync(b) },
  ];
  const snappy = load('snappy') as { compressSync: Sync; uncompressSync: Sync } | null;
  if (snappy)
    out.push({ name: 'snappy 7', compress: snappy.compressSync, decompress: snappy.uncompressSync });
  const napiSnappy = load('@napi-rs/snappy') as { compressSync: Sync; uncompressSync: Sync } | null;
  if (napiSnappy) {
    out.push({
      name: '@napi-rs/snappy',
      compress: napiSnappy.compressSync,
      decompress: napiSnappy.uncompressSync,
    });
  }
  const lz4 = load('lz4-napi') as { compressFrameSync: Sync; decompressFrameSync: Sync } | null;
  if (lz4) {
    out.push({
      name: 'lz4-napi (frame)',
      compress: (b) => lz4.compressFrameSync(b as Buffer),
      decompress: (b) => lz4.decompressFrameSync(b as Buffer),
    });
  }
  const toon = load('@toondepauw/node-zstd') as {
    Encoder: new (level: number) => { encodeSync: Sync };
    Decoder: new () => { decodeSync: Sync };
  } | null;
  if (toon) {
    const encoder = new toon.Encoder(3);
    const decoder = new toon.Decoder();
    out.push({
      name: '@toondepauw/node-zstd',
      compress: (b) => encoder.encodeSync(b),
      decompress: (b) => decoder.decodeSync(b),
    });
  }
  const zstdNapi = load('zstd-napi') as { compress: Sync; decompress: Sync } | null;
  if (zstdNapi) {
    out.push({ name: 'zstd-napi', compress: zstdNapi.compress, decompress: zstdNapi.decompress });
  }
  return out;
}

export async function run(): Promise<void> {
  const encoder = new TextEncoder();
  const records: ProducedRecord[] = Array.from({ length: 100 }, (_, i) => ({
    key: encoder.encode(`user-${i % 17}`),
    value: encoder.encode(
      JSON.stringify({
        id: i,
        kind: 'page_view',
        path: `/products/${(i * 7919) % 1000}`,
        ms: 1700000000000 + i,
      }) + ' '.repeat(100),
    ),
  }));
  const plain = encodeRecords(records, 1_700_000_000_000);
  const copy = new Uint8Array(plain.length);
  bench('memcpy section', () => copy.set(plain));
  const specs = [{ name: 'memcpy section', baseline: 'memcpy section', bytesPerOp: plain.length }];
  for (const candidate of candidates()) {
    const packed = candidate.compress(plain);
    const back = candidate.decompress(packed);
    if (Buffer.compare(Buffer.from(back), Buffer.from(plain)) !== 0) {
      throw new Error(`${candidate.name} does not round-trip`);
    }
    console.log(`${candidate.name}: ${plain.length} -> ${packed.length} bytes`);
    const compressName = `${candidate.name} compress`;
    const decompressName = `${candidate.name} decompress`;
    bench(compressName, () => do_not_optimize(candidate.compress(plain)));
    bench(decompressName, () => do_not_optimize(candidate.decompress(packed)));
    specs.push({ name: compressName, baseline: 'memcpy section', bytesPerOp: plain.length });
    specs.push({ name: decompressName, baseline: 'memcpy section', bytesPerOp: plain.length });
  }
  const mongo = load('@mongodb-js/zstd') as {
    compress(b: Uint8Array, level: number): Promise<Uint8Array>;
    decompress(b: Uint8Array): Promise<Uint8Array>;
  } | null;
  if (mongo) {
    // Promise-only: it runs on libuv's pool, so it cannot serve a synchronous read path.
    const packed = await mongo.compress(plain, 3);
    bench('@mongodb-js/zstd compress (async)', async () => do_not_optimize(await mongo.compress(plain, 3)));
    bench('@mongodb-js/zstd decompress (async)', async () => do_not_optimize(await mongo.decompress(packed)));
    specs.push({
      name: '@mongodb-js/zstd compress (async)',
      baseline: 'memcpy section',
      bytesPerOp: plain.length,
    });
    specs.push({
      name: '@mongodb-js/zstd decompress (async)',
      baseline: 'memcpy section',
      bytesPerOp: plain.length,
    });
  }
  await runWithRatios(specs);
}
