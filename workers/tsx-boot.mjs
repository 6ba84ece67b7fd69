// Starts a worker thread from TypeScript sources. Node 20 does not pass
// `--import` loaders on to worker threads, so this registers tsx itself and
// then loads the entry named in workerData.pyralogEntry. Compiled builds start
// workers from dist/workers/*.js directly and never use this file.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const entry = workerData?.pyralogEntry;
if (typeof entry !== 'string')
  throw new Error('tsx-boot: workerData.pyralogEntry must name the worker module');
const loaded = await import(entry);
// piscina expects the task function as this module's default export.
export default loaded.default;
