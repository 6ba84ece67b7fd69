/**
 * Child process for the crash tests, run with `node --import tsx`. It appends
 * batches with fsync=always as fast as it can (several in flight, so group
 * commit shares syncs) and writes one line to stdout per batch as soon as it
 * is durable: `durable <baseOffset> <crc>`. Or, as `sequencer`, hands out
 * values and reports each after `next()` returned it. The parent SIGKILLs it.
 */
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { BatchHeader } from '../../src/record/batch-header.js';
import { ObeliskSequencer } from '../../src/storage/obelisk-sequencer.js';
import { PartitionLog } from '../../src/storage/partition-log.js';

const [mode, path] = process.argv.slice(2) as [string, string];

if (mode === 'sequencer') {
  const sequencer = ObeliskSequencer.open(path);
  let lines = '';
  for (;;) {
    const count = 1 + Math.floor(Math.random() * 5);
    const first = sequencer.next(count);
    lines += `${first} ${count}\n`;
    if (lines.length > 200) {
      process.stdout.write(lines);
      lines = '';
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
} else {
  const log = PartitionLog.open({
    dir: path,
    config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 64 * 1024 },
    fsync: 'always',
  });
  const pending: { lastOffset: number; baseOffset: number; crc: number }[] = [];
  log.onDurable = () => {
    let lines = '';
    while (pending.length > 0 && pending[0]!.lastOffset < log.durableOffset) {
      const done = pending.shift()!;
      lines += `durable ${done.baseOffset} ${done.crc}\n`;
    }
    if (lines) process.stdout.write(lines);
  };
  let sequence = 0;
  const appendSome = (): void => {
    for (let i = 0; i < 8; i++) {
      const count = 1 + (sequence % 4);
      const batch = buildRecordBatch(
        Array.from({ length: count }, (_, r) => ({
          key: null,
          value: new Uint8Array(100 + ((sequence * 37 + r) % 900)).fill(sequence & 0xff),
        })),
      );
      sequence++;
      const result = log.append(batch, Date.now());
      const crc = new DataView(batch.buffer).getUint32(BatchHeader.CRC);
      pending.push({ lastOffset: result.lastOffset, baseOffset: result.baseOffset, crc });
    }
    setTimeout(appendSome, Math.random() < 0.3 ? 1 : 0);
  };
  appendSome();
}
