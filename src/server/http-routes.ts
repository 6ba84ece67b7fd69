import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import type { HttpAuthenticator } from '../security/http-authenticator.js';
import type { SqlService } from '../sql/sql-service.js';
import { adminRoutes } from './http-admin-routes.js';
import { BodyBudget } from './http-body-budget.js';
import { consoleRoutes } from './http-console-routes.js';
import { groupRoutes } from './http-group-routes.js';
import { HttpMetrics } from './http-metrics.js';
import { produceRoute } from './http-produce-route.js';
import { readRoute } from './http-read-route.js';
import { withAccess } from './http-route-access.js';
import { type HttpRoute, mountFallback, mountRoute, type RouteContext } from './http-route-table.js';
import { sqlRoutes } from './http-sql-routes.js';
import { topicRoutes } from './http-topic-routes.js';
import { userRoutes } from './http-user-routes.js';
import { webOriginPolicy } from './web-origin.js';

/**
 * The HTTP API (docs/http.md), mounted on the uWS app beside the WebSocket
 * route:
 *
 *   GET    /health                                       liveness
 *   GET    /metrics                                      Prometheus text (0.0.4)
 *   GET    /topics, POST /topics                         list, create
 *   GET    /topics/:topic, DELETE /topics/:topic         describe, delete
 *   POST   /topics/:topic/records                        produce (JSON or a RecordBatch)
 *   GET    /topics/:topic/partitions/:p/records          read (JSON or Arrow IPC)
 *   GET|POST /topics/:topic/config, POST …/partitions    settings with docs; alter settings, add partitions
 *   GET    /topics/:topic/partitions/:p/offsets          offset by time, earliest, latest
 *   GET    /cluster                                      brokers and totals
 *   GET    /groups, GET|DELETE /groups/:group            consumer groups, with lag
 *   POST   /groups/:group/offsets                        commit (reset) a group's offsets
 *   GET    /users, POST|DELETE /users/:user              SASL users (salted credentials only)
 *   POST   /sql, GET /topics/:topic/export               SQL over topics, Parquet download
 *   GET    /, /assets/:file                              the web console (docs/console.md)
 *
 * Every error is JSON `{"error":{"code","message"}}` with its status; every
 * body is bounded (maxFrameBytes each, a shared budget over all); every wait
 * on the engine or the offload pool has a deadline.
 */
export interface HttpRoutesOptions {
  /** SQL over topics (POST /sql, Parquet export); without it those routes answer 404. */
  sql?: SqlService;
  /** The web console's static assets at / and /assets/*; on unless false. */
  console?: boolean;
  /** Request body bytes held at once over all connections; default 8 x maxFrameBytes, at least 64 MiB. */
  bodyBudgetBytes?: number;
  /** Checks credentials on every route but /health and the console's files (docs/security.md). */
  authenticator?: HttpAuthenticator;
}

export interface HttpRoutes {
  readonly metrics: HttpMetrics;
  readonly budget: BodyBudget;
}

/**
 * The routes with their shared state (metrics, the body budget), made once and mounted on every
 * uWS app that serves them: an HTTPS reload mounts them on a new app, and the budget and metrics
 * stay one for all.
 */
export interface HttpRouteSet extends HttpRoutes {
  readonly routes: readonly HttpRoute[];
  readonly context: RouteContext;
}

const MiB = 1024 * 1024;

export function httpRouteSet(deps: FrontDoorDeps, options: HttpRoutesOptions = {}): HttpRouteSet {
  const metrics = new HttpMetrics();
  const budget = new BodyBudget(options.bodyBudgetBytes ?? Math.max(64 * MiB, 8 * deps.config.maxFrameBytes));
  const context: RouteContext = {
    budget,
    metrics,
    maxBodyBytes: deps.config.maxFrameBytes,
    origins: webOriginPolicy(deps.config),
    ...(options.authenticator === undefined ? {} : { authenticator: options.authenticator }),
    ...(deps.access === undefined ? {} : { access: deps.access }),
  };
  const routes: HttpRoute[] = [
    {
      method: 'get',
      pattern: '/health',
      handler: async (exchange) => exchange.sendJson(200, { status: 'ok' }),
    },
    {
      method: 'get',
      pattern: '/metrics',
      handler: async (exchange) => {
        const text = deps.metricsText() + metrics.render(budget.heldBytes);
        exchange.send(200, 'text/plain; version=0.0.4; charset=utf-8', text);
      },
    },
    ...topicRoutes(deps),
    ...adminRoutes(deps),
    ...groupRoutes(deps),
    ...userRoutes(deps),
    ...(options.sql === undefined ? [] : sqlRoutes(deps, options.sql)),
    ...(options.console === false ? [] : consoleRoutes()),
    produceRoute(deps),
    readRoute(deps),
  ];
  return { metrics, budget, context, routes };
}

export function mountHttpRoutes(app: TemplatedApp, set: HttpRouteSet): void {
  for (const route of set.routes) mountRoute(app, withAccess(route), set.context);
  mountFallback(app, set.routes, set.context);
}

export function registerHttpRoutes(
  app: TemplatedApp,
  deps: FrontDoorDeps,
  options: HttpRoutesOptions = {},
): HttpRoutes {
  const set = httpRouteSet(deps, options);
  mountHttpRoutes(app, set);
  return set;
}
