import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PyralogError } from '../../src/common/errors.js';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { FaultyStorageIo, parseFaultRules } from '../../src/storage/faulty-storage-io.js';
import { ObeliskSequencer, SEQUENCER_BLOCK } from '../../src/storage/obelisk-sequencer.js';
import { nodeStorageIo, useStorageIo } from '../../src/storage/storage-io.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * The Obelisk sequencer's file I/O goes through the storage seam, so the
 * fault layer reaches it: a block it cannot make durable is never handed
 * out, and values stay unique across the fault and a reopen.
 */
describe('obelisk sequencer under storage faults', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());
  const withFaults = (spec: string): { faulty: FaultyStorageIo; dir: string } => {
    const temp = makeTempDir('obelisk-faults');
    const faulty = new FaultyStorageIo(nodeStorageIo, parseFaultRules(spec));
    const restore = useStorageIo(faulty);
    cleanup = () => {
      restore();
      temp.cleanup();
    };
    return { faulty, dir: temp.dir };
  };

  const failureOf = (action: () => unknown): PyralogError | null => {
    try {
      action();
    } catch (error) {
      return error as PyralogError;
    }
    return null;
  };

  for (const op of ['sync', 'truncate'] as const) {
    it(`given a ${op} of its file that fails when a block runs out should throw KAFKA_STORAGE_ERROR, hand out nothing, and never repeat a value`, () => {
      const { faulty, dir } = withFaults(`op=${op},code=EIO,path=ids.seq,after=1`);
      const path = join(dir, 'ids.seq');
      const sequencer = ObeliskSequencer.open(path);
      const handedOut = new Set<number>();
      // The first block is reserved (its grow and sync succeed); the second one's fails.
      for (let i = 0; i <= SEQUENCER_BLOCK; i++) handedOut.add(sequencer.next());
      const lastBefore = sequencer.get();
      const failure = failureOf(() => sequencer.next());
      expect(failure?.kafkaCode).toBe(KafkaErrorCode.KAFKA_STORAGE_ERROR);
      expect(failure?.message).toMatch(/cannot reserve sequencer values: EIO/);
      expect(sequencer.get()).toBe(lastBefore);
      expect(faulty.injected).toBe(1);
      // Once the disk recovers, the sequencer goes on from where it was.
      faulty.rules.length = 0;
      const next = sequencer.next();
      expect(next).toBe(lastBefore + 1);
      expect(handedOut.has(next)).toBe(false);
      sequencer.close();
      // A reopen starts past everything handed out (the file length is durable and covers it).
      const reopened = ObeliskSequencer.open(path);
      expect(reopened.next()).toBeGreaterThan(next);
      expect(statSync(path).size).toBeGreaterThan(next);
      reopened.close();
    });
  }

  it('given a file that cannot be opened should fail the open with the error, not make a new counter', () => {
    const { dir } = withFaults('op=open,code=EIO,path=ids.seq');
    expect(() => ObeliskSequencer.open(join(dir, 'ids.seq'))).toThrow(/EIO/);
  });

  it('given a new file whose directory sync fails should fail the open', () => {
    const { dir } = withFaults(`op=sync,code=EIO,path=${'obelisk-faults'}`);
    expect(() => ObeliskSequencer.open(join(dir, 'ids.seq'))).toThrow(/EIO/);
  });
});
