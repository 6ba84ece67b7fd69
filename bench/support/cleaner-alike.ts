/**
 * A process that is not the broker doing what the log cleaner did in a phase
 * of bench/cleaner-interference.bench.ts: as many bytes of file I/O (half
 * written to a file in DIR, fsynced every 200 ms, half read back) and as much CPU time,
 * spread evenly over SECONDS in 20 ms slices. The bench starts it at the
 * cleaner thread's nice value, beside the same produce load, to measure the
 * ceiling: what any background work of that size costs produce latency on
 * this machine, Pyralog untouched.
 * Usage: node --import tsx bench/support/cleaner-alike.ts DIR IO_BYTES CPU_MS SECONDS
 * Prints `ready`, starts on the next line it reads from stdin, and prints
 * `done cpuMs=<spent> ioBytes=<done>` at the end.
 */
import { closeSync, fsyncSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ioBytesArg, cpuMsArg, secondsArg] = process.argv.slice(2);
if (dir === undefined || secondsArg === undefined) {
  throw new Error('usage: cleaner-alike DIR IO_BYTES CPU_MS SECONDS');
}
const ioBytes = Number(ioBytesArg);
const cpuMs = Number(cpuMsArg);
const seconds = Number(secondsArg);
const SLICE_MS = 20;
const FILE_BYTES_MAX = 64 * 1024 * 1024;
const slices = Math.max(1, Math.round((seconds * 1000) / SLICE_MS));
// Started before the phase (its start-up is not part of the load): it says `ready` and waits for a line.
console.log('ready');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.pause();
const path = join(dir, 'cleaner-alike.data');
const fd = openSync(path, 'w+');
const chunk = new Uint8Array(Math.max(1, Math.ceil(ioBytes / slices / 2))).fill(7);
const readBack = new Uint8Array(chunk.length);
const cpuStart = process.cpuUsage();
const spentMs = () => {
  const usage = process.cpuUsage(cpuStart);
  return (usage.user + usage.system) / 1000;
};
const startMs = performance.now();
let position = 0;
let doneBytes = 0;
let sink = 0;
for (let slice = 0; slice < slices; slice++) {
  if (ioBytes > 0) {
    if (position + chunk.length > FILE_BYTES_MAX) position = 0;
    writeSync(fd, chunk, 0, chunk.length, position);
    // About as often as the cleaner syncs (each cleaned file, a few a job, a job or two a second).
    if (slice % 10 === 9) fsyncSync(fd);
    readSync(fd, readBack, 0, readBack.length, position);
    position += chunk.length;
    doneBytes += chunk.length * 2;
  }
  // CPU up to this slice's share (the I/O above counts towards it), then idle to the slice's end.
  const cpuDueMs = (cpuMs * (slice + 1)) / slices;
  while (spentMs() < cpuDueMs) {
    for (let i = 0; i < 10_000; i++) sink = (sink * 31 + i) | 0;
  }
  const sliceEndMs = startMs + (slice + 1) * SLICE_MS;
  const waitMs = sliceEndMs - performance.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}
closeSync(fd);
rmSync(path, { force: true });
console.log(`done cpuMs=${spentMs().toFixed(0)} ioBytes=${doneBytes} sink=${sink & 1}`);
