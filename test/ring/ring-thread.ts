import { parentPort, workerData } from 'node:worker_threads';
import { RingReader, RingWriter } from '../../src/ring/index.js';
import { consumeTraffic, produceTraffic, type TrafficOptions } from './ring-traffic.js';

/** A worker thread that plays one side of ring-traffic.ts; started through workers/tsx-boot.mjs. */
interface RingThreadData {
  role: 'produce' | 'consume';
  ring: SharedArrayBuffer;
  options: TrafficOptions;
}

const data = workerData as RingThreadData;
if (data.role === 'produce') {
  parentPort!.postMessage({ problem: produceTraffic(new RingWriter(data.ring), data.options) });
} else {
  parentPort!.postMessage({ problem: consumeTraffic(new RingReader(data.ring), data.options) });
}
