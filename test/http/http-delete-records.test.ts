import { afterEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../../src/common/kafka-error-code.js';
import { buildRecordBatch } from '../../src/record/batch-builder.js';
import { scopedTestEngines } from '../support/engine-fixture.js';
import { type HttpFixture, startHttpFixture } from '../support/http-fixture.js';

/** After a DeleteRecords, the HTTP door (which asks the same shards) honours the moved log start offset. */
describe('HTTP reads after DeleteRecords', () => {
  const engines = scopedTestEngines('http-delete-records');
  let fixture: HttpFixture | null = null;
  afterEach(async () => {
    await fixture?.close();
    fixture = null;
  });

  it('given records below 6 deleted, earliest is 6, a read from 2 is refused and a read from 6 starts there', async () => {
    const engine = await engines.start();
    fixture = await startHttpFixture({ ...engine.config, httpPort: 0 }, engine);
    await engine.createTopic('t', 1);
    for (let i = 0; i < 10; i++) {
      const batch = buildRecordBatch([{ key: null, value: new TextEncoder().encode(`r-${i}`) }]);
      expect((await engine.produce('t', 0, batch, -1)).errorCode).toBe(KafkaErrorCode.NONE);
    }
    expect(await engine.deleteRecords('t', 0, 6)).toEqual({
      errorCode: KafkaErrorCode.NONE,
      lowWatermark: 6,
    });
    const earliest = await fetch(`${fixture.base}/topics/t/partitions/0/offsets?timestamp=earliest`);
    expect(await earliest.json()).toMatchObject({ offset: 6 });
    const below = await fetch(`${fixture.base}/topics/t/partitions/0/records?offset=2`);
    expect(below.status).toBeGreaterThanOrEqual(400);
    expect(await below.text()).toContain('offset');
    const from = await fetch(`${fixture.base}/topics/t/partitions/0/records?offset=6`);
    const body = (await from.json()) as { records: { offset: number; value: string }[] };
    expect(body.records.map((r) => [r.offset, r.value])).toEqual([
      [6, 'r-6'],
      [7, 'r-7'],
      [8, 'r-8'],
      [9, 'r-9'],
    ]);
  });
});
