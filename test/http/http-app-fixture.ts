import uWS, { type TemplatedApp, type us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import { type BrokerConfig, defaultBrokerConfig } from '../../src/common/broker-config.js';
import type { Engine } from '../../src/engine/engine-api.js';
import type { ArrowTaskInput } from '../../src/engine/offload-task.js';
import type { GroupCoordinatorApi } from '../../src/groups/group-coordinator-api.js';
import type { FrontDoorDeps } from '../../src/protocol/front-door-deps.js';
import { encodeRecordsAsArrow } from '../../src/server/arrow-export.js';
import { recordWindow } from '../../src/server/http-record-window.js';
import { type HttpRoutes, type HttpRoutesOptions, registerHttpRoutes } from '../../src/server/http-routes.js';
import { MemoryEngine } from '../support/memory-engine.js';

/**
 * The HTTP routes alone on their own uWS app at 127.0.0.1:<ephemeral>, over
 * an in-memory engine, so each test can set the limits and dependencies it
 * is about (body budget, metrics text, a slow engine or pool).
 */
export interface HttpAppFixture {
  engine: Engine;
  config: BrokerConfig;
  routes: HttpRoutes;
  base: string;
  port: number;
  close(): void;
}

export interface HttpAppOptions extends HttpRoutesOptions {
  config?: Partial<BrokerConfig>;
  engine?: Engine;
  metricsText?: () => string;
  encodeArrow?: (input: ArrowTaskInput) => Promise<Uint8Array>;
  decodeRecordWindow?: FrontDoorDeps['decodeRecordWindow'];
}

const noGroups = new Proxy({} as GroupCoordinatorApi, {
  get() {
    throw new Error('the HTTP routes do not use the group coordinator');
  },
});

export async function startHttpApp(options: HttpAppOptions = {}): Promise<HttpAppFixture> {
  const config: BrokerConfig = {
    ...defaultBrokerConfig(1),
    httpPort: 0,
    logLevel: 'silent',
    ...options.config,
  };
  const engine = options.engine ?? new MemoryEngine();
  const deps: FrontDoorDeps = {
    config,
    engine,
    groups: noGroups,
    metricsText: options.metricsText ?? (() => ''),
    encodeArrow: options.encodeArrow ?? (async (input) => encodeRecordsAsArrow(input)),
    decodeRecordWindow:
      options.decodeRecordWindow ??
      (async (input) => recordWindow(input.records, input.fromOffset, input.limit)),
  };
  const app = uWS.App() as TemplatedApp & { close(): void };
  const routes = registerHttpRoutes(app, deps, options);
  const socket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (listenSocket) => {
      if (listenSocket === false) reject(new Error('cannot listen'));
      else resolve(listenSocket);
    });
  });
  const port = uWS.us_socket_local_port(socket);
  return {
    engine,
    config,
    routes,
    base: `http://127.0.0.1:${port}`,
    port,
    close() {
      uWS.us_listen_socket_close(socket);
      app.close();
    },
  };
}

export interface Answer {
  status: number;
  type: string;
  headers: Headers;
  json: unknown;
  bytes: Uint8Array;
}

/** One request with a deadline; the body is read whole, and parsed when it is JSON. */
export async function call(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const type = response.headers.get('content-type') ?? '';
  const bytes = new Uint8Array(await response.arrayBuffer());
  const json: unknown = type.includes('json') ? JSON.parse(new TextDecoder().decode(bytes)) : undefined;
  return { status: response.status, type, headers: response.headers, json, bytes };
}

export function postJson(base: string, path: string, body: unknown): Promise<Answer> {
  return call(base, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export function errorCode(answer: Answer): string | undefined {
  return (answer.json as { error?: { code?: string } } | undefined)?.error?.code;
}

/** For requests that may see their connection closed early (bodies over the limit): the error, typed. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
