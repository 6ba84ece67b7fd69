import { createRequire } from 'node:module';
import duckdb from '@duckdb/node-bindings';

/**
 * Our addon that puts many keys or values into a DuckDB string vector with
 * one call (src/native/duckdb-text.c), where `@duckdb/node-bindings` takes one
 * call per string. `npm install` builds it with the CRC32C addon; where it did
 * not build, cannot find the libduckdb that @duckdb/node-bindings loaded, or
 * the environment sets PYRALOG_SQL_TEXT=js (to compare the two in one build),
 * this is null and the loader assigns one string at a time.
 */
export interface DuckDbTextAddon {
  /**
   * For each row r in [rowFrom, rowEnd) with fields[2r+1] >= 0, assigns
   * bytes[fields[2r], +fields[2r+1]) to vector[r] and sets bit r of `valid`
   * when the bytes are UTF-8; answers how many rows were not (left unset).
   */
  assignText(
    vector: duckdb.Vector,
    bytes: Uint8Array,
    fields: Int32Array,
    rowFrom: number,
    rowEnd: number,
    valid: Uint8Array,
  ): number;
  available(): boolean;
}

/** The addon's build output, from src/sql (tsx) and from dist/src/sql (compiled). */
const addonPaths = [
  '../native/build/Release/duckdb_text.node',
  '../../../src/native/build/Release/duckdb_text.node',
];

function loadAddon(): DuckDbTextAddon | null {
  if (process.env.PYRALOG_SQL_TEXT === 'js') return null;
  // The bindings load libduckdb, which the addon looks for in this process.
  duckdb.library_version();
  const require = createRequire(import.meta.url);
  for (const path of addonPaths) {
    try {
      const addon = require(path) as DuckDbTextAddon;
      if (addon.available()) return addon;
    } catch {
      // Not built at this path (or not loadable here): try the next, then fall back.
    }
  }
  return null;
}

export const duckDbTextAddon: DuckDbTextAddon | null = loadAddon();
