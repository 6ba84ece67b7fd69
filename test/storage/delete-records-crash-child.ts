/**
 * Child process for the DeleteRecords crash test, run with `node --import
 * tsx`: appends batches with fsync=always to small segments, and after each
 * flush moves the log start offset up to somewhere below the high watermark,
 * writing `deleted <offset>` once deleteRecordsBefore has returned (the new
 * start is then durable). The parent SIGKILLs it at a random moment.
 */
import { DEFAULT_TOPIC_CONFIG } from '../../src/common/broker-config.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { PartitionLog } from '../../src/storage/partition-log.js';

const [path] = process.argv.slice(2) as [string];
const log = PartitionLog.open({
  dir: path,
  config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 4096 },
  fsync: 'always',
});
for (;;) {
  for (let i = 0; i < 5; i++)
    log.append(buildRecordBatch([{ key: null, value: new Uint8Array(200).fill(i) }]), Date.now());
  await log.flush();
  const start = log.logStartOffset;
  const target = start + Math.floor(Math.random() * (log.highWatermark - start + 1));
  log.deleteRecordsBefore(target);
  process.stdout.write(`deleted ${target} end ${log.logEndOffset}\n`);
}
