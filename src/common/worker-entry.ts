import { fileURLToPath } from 'node:url';
// The thread that starts workers holds @napi-rs/snappy loaded. A napi-rs addon whose last user is a worker
// thread takes the whole process down with SIGSEGV when that worker ends (a Rust thread-local destructor
// runs after the library is unloaded: napi-rs/package-template#308, rust-lang/rust#91979). Workers that
// load it are ended on purpose (an idle piscina thread, a restarted shard, a closed pool); with the
// addon loaded here too it is never unloaded. test/engine/offload-pool-ready.test.ts goes red without it.
import '@napi-rs/snappy';

/**
 * Where to start a worker thread from. Node 20 does not carry `--import`
 * loaders into worker threads, so when Pyralog runs from its TypeScript
 * sources (tests, `tsx`) a worker starts from `workers/tsx-boot.mjs`, which
 * registers tsx and then imports the `.ts` entry named in `workerData`. When it
 * runs compiled (`dist/`), the worker starts straight from the `.js` file.
 */
export interface WorkerEntry {
  /** The file to give `new Worker()` or piscina's `filename`. */
  readonly filename: string;
  /** Merged into `workerData`; tells the tsx bootstrap which module to load. */
  readonly bootData: { readonly pyralogEntry?: string };
}

const runningFromSource = import.meta.url.endsWith('.ts');

export function workerEntry(name: 'shard' | 'offload' | string): WorkerEntry {
  if (runningFromSource) {
    return {
      filename: fileURLToPath(new URL('../../workers/tsx-boot.mjs', import.meta.url)),
      bootData: { pyralogEntry: new URL(`../../workers/${name}.ts`, import.meta.url).href },
    };
  }
  return { filename: fileURLToPath(new URL(`../../workers/${name}.js`, import.meta.url)), bootData: {} };
}
