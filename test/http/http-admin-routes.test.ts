import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpFixture, startHttpFixture } from '../support/http-fixture.js';

/** The administration routes the CLI and the console use, and how each refuses bad input. */
describe('HTTP administration routes', () => {
  let http: HttpFixture;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${http.base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const json = (await response.json()) as Record<string, unknown> & { error?: { code: string } };
    return { status: response.status, json, code: json.error?.code };
  };
  beforeAll(async () => {
    http = await startHttpFixture();
    await call('POST', '/topics', { name: 't', partitions: 2 });
  });
  afterAll(() => http.close());

  it('alters settings, sets one back to the default with null, and refuses unknown or invalid ones', async () => {
    const altered = await call('POST', '/topics/t/config', { config: { 'retention.ms': 1234 } });
    expect(altered).toMatchObject({ status: 200, json: { name: 't', config: { 'retention.ms': '1234' } } });
    const reset = await call('POST', '/topics/t/config', { config: { 'retention.ms': null } });
    expect((reset.json.config as Record<string, string>)['retention.ms']).toBe(
      String(http.config.topicDefaults.retentionMs),
    );
    expect(await call('POST', '/topics/t/config', { config: { 'no.such': '1' } })).toMatchObject({
      status: 400,
      code: 'INVALID_CONFIG',
    });
    expect(await call('POST', '/topics/t/config', { config: { 'segment.bytes': '1' } })).toMatchObject({
      status: 400,
      code: 'INVALID_CONFIG',
    });
    expect(await call('POST', '/topics/t/config', 'not json')).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
    });
    expect(await call('POST', '/topics/nope/config', { config: {} })).toMatchObject({
      status: 404,
      code: 'UNKNOWN_TOPIC',
    });
  });

  it('describes every standard setting with its source, default, doc and whether it applies', async () => {
    await call('POST', '/topics/t/config', { config: { 'min.insync.replicas': '2' } });
    const described = await call('GET', '/topics/t/config');
    expect(described.status).toBe(200);
    const configs = described.json.configs as {
      name: string;
      value: string;
      source: string;
      defaultValue: string;
      applied: boolean;
      doc: string;
    }[];
    const byName = new Map(configs.map((entry) => [entry.name, entry]));
    expect(byName.get('min.insync.replicas')).toMatchObject({
      value: '2',
      source: 'TOPIC_CONFIG',
      defaultValue: '1',
      applied: false,
    });
    expect(byName.get('min.insync.replicas')?.doc).toMatch(/^Not applied by Pyralog/);
    expect(byName.get('segment.bytes')).toMatchObject({ source: 'DEFAULT_CONFIG', applied: true });
    expect(await call('GET', '/topics/nope/config')).toMatchObject({ status: 404, code: 'UNKNOWN_TOPIC' });
  });

  it('grows a topic and refuses to shrink it or to take a count that is not a number', async () => {
    expect(await call('POST', '/topics/t/partitions', { partitions: 4 })).toMatchObject({
      status: 200,
      json: { partitions: 4 },
    });
    expect(await call('POST', '/topics/t/partitions', { partitions: 3 })).toMatchObject({
      status: 400,
      code: 'INVALID_CONFIG',
    });
    expect(await call('POST', '/topics/t/partitions', { partitions: '5' })).toMatchObject({
      status: 400,
      code: 'INVALID_CONFIG',
    });
    expect((await call('GET', '/topics/t')).json.partitions).toHaveLength(4);
  });

  it('finds offsets by time, earliest and latest, and refuses a malformed time or partition', async () => {
    // Two requests, two batches: the in-memory engine finds times batch by batch.
    await call('POST', '/topics/t/records', [{ partition: 0, value: 'a', timestamp: 1000 }]);
    await call('POST', '/topics/t/records', [{ partition: 0, value: 'b', timestamp: 2000 }]);
    expect((await call('GET', '/topics/t/partitions/0/offsets?timestamp=1500')).json).toMatchObject({
      offset: 1,
    });
    expect((await call('GET', '/topics/t/partitions/0/offsets?timestamp=earliest')).json).toMatchObject({
      offset: 0,
    });
    expect((await call('GET', '/topics/t/partitions/0/offsets')).json).toMatchObject({ offset: 2 });
    expect(await call('GET', '/topics/t/partitions/0/offsets?timestamp=yesterday')).toMatchObject({
      status: 400,
    });
    expect(await call('GET', '/topics/t/partitions/9/offsets')).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
  });

  it('commits, describes with lag, lists and deletes a group, and says when a group is unknown', async () => {
    expect(await call('GET', '/groups/g')).toMatchObject({ status: 404, code: 'UNKNOWN_GROUP' });
    expect(
      await call('POST', '/groups/g/offsets', { offsets: [{ topic: 't', partition: 0, offset: 1 }] }),
    ).toMatchObject({
      status: 200,
      json: { committed: 1 },
    });
    const described = await call('GET', '/groups/g');
    expect(described.json).toMatchObject({
      state: 'Empty',
      offsets: [{ topic: 't', partition: 0, committedOffset: 1, highWatermark: 2, lag: 1 }],
    });
    expect((await call('GET', '/groups')).json.groups).toEqual([
      { groupId: 'g', protocolType: 'consumer', state: 'Empty', members: 0 },
    ]);
    expect(
      await call('POST', '/groups/g/offsets', { offsets: [{ topic: 't', partition: 99, offset: 1 }] }),
    ).toMatchObject({
      status: 404,
      code: 'UNKNOWN_TOPIC',
    });
    expect(
      await call('POST', '/groups/g/offsets', { offsets: [{ topic: 't', partition: 0, offset: -1 }] }),
    ).toMatchObject({
      status: 400,
    });
    expect(await call('POST', '/groups/g/offsets', { offsets: [] })).toMatchObject({ status: 400 });
    expect(await call('DELETE', '/groups/g')).toMatchObject({ status: 200, json: { deleted: 'g' } });
    expect(await call('DELETE', '/groups/g')).toMatchObject({ status: 404, code: 'UNKNOWN_GROUP' });
  });

  it('refuses state changes from pages of another origin', async () => {
    const foreign = { origin: 'http://evil.example' };
    expect(await call('POST', '/topics/t/partitions', { partitions: 8 }, foreign)).toMatchObject({
      status: 403,
    });
    expect(await call('DELETE', '/groups/g', undefined, foreign)).toMatchObject({ status: 403 });
  });

  it('describes the cluster', async () => {
    expect((await call('GET', '/cluster')).json).toMatchObject({
      clusterId: 'pyralog',
      brokers: [{ nodeId: 0 }],
      topics: expect.any(Number),
      partitions: expect.any(Number),
    });
  });
});
