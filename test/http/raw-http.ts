import { connect, type Socket } from 'node:net';

/**
 * A raw TCP client for the HTTP tests that fetch() cannot express: a body
 * sent slowly or cut off, a declared length larger than what is sent, bytes
 * that are not HTTP at all. Every wait has a deadline.
 */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far, as latin1 text. */
  received(): string;
  /** Resolves once the received text matches, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once the server has closed the connection (or rejects after `timeoutMs`). */
  closed(timeoutMs?: number): Promise<void>;
  write(bytes: string | Uint8Array): Promise<void>;
}

export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let ended = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    notify();
  });
  socket.on('close', () => {
    ended = true;
    notify();
  });
  socket.on('error', () => undefined);
  const until = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}; received ${JSON.stringify(text.slice(0, 300))}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return {
    socket,
    received: () => text,
    async waitFor(pattern, timeoutMs = 5_000) {
      await until(() => pattern.test(text), String(pattern), timeoutMs);
      return text;
    },
    closed: (timeoutMs = 5_000) => until(() => ended, 'the connection to close', timeoutMs),
    write: (bytes) =>
      new Promise<void>((resolve) => {
        if (socket.destroyed || ended) resolve();
        else socket.write(bytes, () => resolve());
      }),
  };
}
