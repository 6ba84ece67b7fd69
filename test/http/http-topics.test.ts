import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorCode, type HttpAppFixture, postJson, startHttpApp } from './http-app-fixture.js';

/** Topic administration over HTTP on a real socket. */
describe('HTTP topic routes', () => {
  let app: HttpAppFixture;
  beforeAll(async () => {
    app = await startHttpApp();
  });
  afterAll(() => app.close());

  it('given a new topic when it is created then it is listed, described with its offsets, and deleted', async () => {
    const created = await postJson(app.base, '/topics', {
      name: 'alpha',
      partitions: 3,
      config: {
        'retention.ms': 60000,
        'segment.bytes': '1048576',
        'message.timestamp.type': 'LogAppendTime',
      },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'alpha',
      partitions: 3,
      config: {
        'retention.ms': '60000',
        'segment.bytes': '1048576',
        'message.timestamp.type': 'LogAppendTime',
      },
    });

    const list = (await call(app.base, '/topics')).json as { topics: { name: string; partitions: number }[] };
    expect(list.topics).toContainEqual(expect.objectContaining({ name: 'alpha', partitions: 3 }));

    await postJson(app.base, '/topics/alpha/records', [
      { value: 'a', partition: 1 },
      { value: 'b', partition: 1 },
    ]);
    const described = await call(app.base, '/topics/alpha');
    expect(described.status).toBe(200);
    expect(described.json).toMatchObject({
      name: 'alpha',
      partitions: [
        { partition: 0, logStartOffset: 0, logEndOffset: 0, highWatermark: 0 },
        { partition: 1, logStartOffset: 0, logEndOffset: 2, highWatermark: 2 },
        { partition: 2, logStartOffset: 0, logEndOffset: 0, highWatermark: 0 },
      ],
      config: { 'retention.ms': '60000' },
    });

    const deleted = await call(app.base, '/topics/alpha', { method: 'DELETE' });
    expect(deleted.json).toEqual({ deleted: 'alpha' });
    expect(errorCode(await call(app.base, '/topics/alpha'))).toBe('UNKNOWN_TOPIC');
    expect((await call(app.base, '/topics/alpha', { method: 'DELETE' })).status).toBe(404);
  });

  it('a topic created without partitions or config takes the broker defaults', async () => {
    const created = await postJson(app.base, '/topics', { name: 'plain' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ partitions: app.config.defaultPartitions });
    expect((created.json as { config: Record<string, string> }).config['max.message.bytes']).toBe(
      String(app.config.topicDefaults.maxMessageBytes),
    );
  });

  it('creating a topic twice answers 409 TOPIC_EXISTS', async () => {
    expect((await postJson(app.base, '/topics', { name: 'twice' })).status).toBe(201);
    const again = await postJson(app.base, '/topics', { name: 'twice' });
    expect(again.status).toBe(409);
    expect(errorCode(again)).toBe('TOPIC_EXISTS');
  });

  it('bad create bodies answer 400 with a code and a message naming the problem', async () => {
    const cases: [unknown, string, RegExp][] = [
      [[], 'BAD_REQUEST', /body must be/],
      ['"t"', 'BAD_REQUEST', /body must be/],
      [{ partitions: 1 }, 'BAD_REQUEST', /name/],
      [{ name: '' }, 'BAD_REQUEST', /topic names/],
      [{ name: '../etc' }, 'BAD_REQUEST', /topic names/],
      [{ name: '..' }, 'BAD_REQUEST', /cannot be named/],
      [{ name: 'x'.repeat(250) }, 'BAD_REQUEST', /topic names/],
      [{ name: 'p', partitions: 0 }, 'BAD_REQUEST', /partitions/],
      [{ name: 'p', partitions: 1.5 }, 'BAD_REQUEST', /partitions/],
      [{ name: 'p', partitions: '3' }, 'BAD_REQUEST', /partitions/],
      [{ name: 'p', partitions: 2 ** 21 }, 'BAD_REQUEST', /partitions/],
      [{ name: 'p', config: [] }, 'BAD_REQUEST', /config must be an object/],
      [{ name: 'p', config: { 'retention.ms': 'soon' } }, 'INVALID_CONFIG', /retention\.ms/],
      [{ name: 'p', config: { 'segment.bytes': 10 } }, 'INVALID_CONFIG', /segment\.bytes/],
      [
        { name: 'p', config: { 'message.timestamp.type': 'Now' } },
        'INVALID_CONFIG',
        /message\.timestamp\.type/,
      ],
      [{ name: 'p', config: { 'cleanup.policy': 'shred' } }, 'INVALID_CONFIG', /cleanup\.policy/],
      [{ name: 'p', config: { 'no.such.setting': '1' } }, 'INVALID_CONFIG', /no\.such\.setting/],
      [{ name: 'p', config: { 'retention.ms': { n: 1 } } }, 'INVALID_CONFIG', /retention\.ms/],
    ];
    for (const [body, code, message] of cases) {
      const answer = await call(app.base, '/topics', {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect({ body, status: answer.status, code: errorCode(answer) }).toEqual({ body, status: 400, code });
      expect((answer.json as { error: { message: string } }).error.message).toMatch(message);
    }
    expect((await call(app.base, '/topics/p')).status).toBe(404);
  });

  it('a topic name in the path is percent-decoded, and a malformed escape is a 400', async () => {
    await postJson(app.base, '/topics', { name: 'with.dots_and-dashes' });
    expect((await call(app.base, '/topics/with%2Edots_and-dashes')).status).toBe(200);
    const malformed = await call(app.base, '/topics/%E0%A4%A');
    expect(malformed.status).toBe(400);
    expect(errorCode(malformed)).toBe('BAD_REQUEST');
    expect((await call(app.base, '/health')).status).toBe(200);
  });
});
