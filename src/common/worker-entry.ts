import { fileURLToPath } from 'node:url';

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
