import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planQuery, type TopicScan } from '../../src/sql/query-plan.js';

/** Which partitions and offsets a query can need, from DuckDB's own parse tree. */
describe('query planning', () => {
  let serialize: (sql: string) => Promise<string>;
  let close: () => void;
  beforeAll(async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    serialize = async (sql) =>
      String(
        (await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql])).getRowsJS()[0]![0],
      );
    close = () => {
      connection.closeSync();
      instance.closeSync();
    };
  });
  afterAll(() => close());

  const plan = async (sql: string, topics = ['events', 'other']): Promise<TopicScan[]> =>
    planQuery(await serialize(sql), topics);
  const only = async (
    sql: string,
  ): Promise<Pick<TopicScan, 'partitions' | 'offsetMin' | 'offsetEnd' | 'timestampMinText'>> => {
    const [scan] = await plan(sql);
    return {
      partitions: scan!.partitions,
      offsetMin: scan!.offsetMin,
      offsetEnd: scan!.offsetEnd,
      timestampMinText: scan!.timestampMinText,
    };
  };
  const ALL = { partitions: null, offsetMin: 0, offsetEnd: Number.POSITIVE_INFINITY, timestampMinText: null };

  it('given partition, offset and time conditions AND-ed in the WHERE should read only what can match', async () => {
    expect(
      await only(
        `SELECT * FROM events WHERE "partition" = 2 AND "offset" >= 10 AND "offset" < 20 AND "timestamp" >= '2026-12-01'`,
      ),
    ).toEqual({ partitions: [2], offsetMin: 10, offsetEnd: 20, timestampMinText: '2026-12-01' });
    expect(await only(`SELECT * FROM events e WHERE 5 < e."offset" AND e."offset" <= 9`)).toMatchObject({
      offsetMin: 6,
      offsetEnd: 10,
    });
    expect(
      await only(`SELECT * FROM events WHERE "offset" BETWEEN 3 AND 4 AND "partition" IN (0, 1)`),
    ).toMatchObject({
      partitions: [0, 1],
      offsetMin: 3,
      offsetEnd: 5,
    });
    expect(await only(`SELECT count(*) FROM (SELECT * FROM events WHERE "offset" = 7) x`)).toMatchObject({
      offsetMin: 7,
      offsetEnd: 8,
    });
  });

  it('given conditions it cannot prove narrow the rows should read everything', async () => {
    expect(await only(`SELECT * FROM events WHERE "offset" > 5 OR key = 'a'`)).toEqual(ALL);
    expect(await only(`SELECT * FROM events WHERE "offset" > (SELECT 3)`)).toEqual(ALL);
    expect(await only(`SELECT * FROM events`)).toEqual(ALL);
    // Named twice: one reference's condition must not starve the other.
    const [twice] = await plan(
      `SELECT * FROM events a JOIN events b ON a.key = b.key WHERE a."offset" > 100`,
    );
    expect(twice).toMatchObject({ offsetMin: 0, offsetEnd: Number.POSITIVE_INFINITY });
    // Unqualified columns with two tables in the FROM could be either table's.
    const joined = await plan(`SELECT * FROM events, other WHERE events."offset" > 4 AND "partition" = 1`);
    expect(joined.find((s) => s.topic === 'events')).toMatchObject({ offsetMin: 5, partitions: null });
    expect(joined.find((s) => s.topic === 'other')).toMatchObject({ offsetMin: 0, partitions: null });
  });

  it('names only the topics the query reads, matching case as DuckDB binds', async () => {
    expect((await plan(`SELECT * FROM EVENTS`)).map((s) => s.topic)).toEqual(['events']);
    expect(await plan(`SELECT 1`)).toEqual([]);
    expect(await plan(`SELECT * FROM nope`)).toEqual([]);
  });

  it('loads only the text columns a query names, all of them for a star', async () => {
    const columnsOf = async (sql: string) => (await plan(sql))[0]!.columns;
    expect(await columnsOf(`SELECT count(*) FROM events GROUP BY "partition"`)).toEqual({
      key: false,
      value: false,
      headers: false,
    });
    expect(await columnsOf(`SELECT value->>'$.kind', count(*) FROM events GROUP BY 1`)).toEqual({
      key: false,
      value: true,
      headers: false,
    });
    expect(await columnsOf(`SELECT e.key FROM events e WHERE headers IS NOT NULL`)).toEqual({
      key: true,
      value: false,
      headers: true,
    });
    expect(await columnsOf(`SELECT * FROM events`)).toEqual({ key: true, value: true, headers: true });
    expect(await columnsOf(`SELECT e.* FROM events e`)).toEqual({ key: true, value: true, headers: true });
  });

  it('refuses anything but one SELECT', async () => {
    await expect(plan(`DELETE FROM events`)).rejects.toMatchObject({ code: 'SQL_NOT_READ_ONLY' });
    await expect(plan(`SELECT 1; SELECT 2`)).rejects.toMatchObject({ code: 'SQL_INVALID' });
  });
});
