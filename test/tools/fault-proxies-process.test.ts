import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLinkSpec } from '../../tools/chaos/link-spec.js';

describe('parseLinkSpec', () => {
  it('given NAME=[LISTEN:]TARGET, should read the ports; given anything else, should say what it expects', () => {
    expect(parseLinkSpec('broker1->etcd2=0:2380')).toEqual({
      name: 'broker1->etcd2',
      listenPort: 0,
      targetPort: 2380,
    });
    expect(parseLinkSpec('b1-b2=9102')).toEqual({ name: 'b1-b2', listenPort: 0, targetPort: 9102 });
    expect(() => parseLinkSpec('b1-b2')).toThrow(/NAME=\[LISTEN_PORT:\]TARGET_PORT/);
    expect(() => parseLinkSpec('x=70000')).toThrow(/out of range/);
  });
});

describe('tools/chaos/proxies.ts as a process', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('given a link, should print its port, obey the control endpoint, and exit 0 on SIGTERM', async () => {
    const echo = createServer((socket) => {
      // Healing the blackhole resets the connection that lost bytes: that reset reaches this end.
      socket.on('error', () => socket.destroy());
      socket.pipe(socket);
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    cleanups.push(() => echo.close());
    const targetPort = (echo.address() as AddressInfo).port;

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'tools/chaos/proxies.ts', '--link', `a=${targetPort}`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    const [line] = (await Promise.race([
      once(createInterface({ input: child.stdout! }), 'line'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no ports line within 20 s')), 20_000)),
    ])) as [string];
    const { controlPort, links } = JSON.parse(line) as { controlPort: number; links: Record<string, number> };

    const roundTrip = async (): Promise<string> => {
      const socket = connect({ host: '127.0.0.1', port: links.a! });
      socket.setEncoding('utf8');
      await once(socket, 'connect');
      socket.write('ping');
      const reply = await Promise.race([
        once(socket, 'data').then(([data]) => data as string),
        new Promise<string>((resolve) => setTimeout(() => resolve('(nothing)'), 300)),
      ]);
      socket.destroy();
      return reply;
    };
    expect(await roundTrip()).toBe('ping');
    const blackholed = await fetch(`http://127.0.0.1:${controlPort}/links/a/blackhole`, { method: 'POST' });
    expect(blackholed.status).toBe(200);
    expect(await roundTrip()).toBe('(nothing)');
    await fetch(`http://127.0.0.1:${controlPort}/heal`, { method: 'POST' });
    expect(await roundTrip()).toBe('ping');

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
