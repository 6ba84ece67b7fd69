import type { HttpRequest, HttpResponse, TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { FrontDoorError } from '../protocol/front-door-errors.js';
import type { AccessControl } from '../security/access-control.js';
import { aclOperationName, aclResourceTypeName } from '../security/acl.js';
import type { CheckedOperation, CheckedResourceType } from '../security/authorizer.js';
import type { HttpAuthenticator } from '../security/http-authenticator.js';
import { ANONYMOUS_PRINCIPAL, type Principal, principalText } from '../security/principal.js';
import { readBody } from './http-body.js';
import type { BodyBudget } from './http-body-budget.js';
import { FORBIDDEN, type HttpErrorKind, HttpExchange } from './http-exchange.js';
import type { HttpMetrics } from './http-metrics.js';
import { pathParameter } from './http-params.js';
import type { WebOriginPolicy } from './web-origin.js';

/**
 * How a route is mounted on the uWS app, in one place, so that every route
 * keeps uWS's rules: `onAborted` is registered and everything needed from the
 * request (path parameters, query, headers) is read synchronously before the
 * handler's first await; the body is collected from the same tick; and
 * whatever the handler throws, synchronously or not, is answered as a JSON
 * error instead of escaping into uWS (which would end the process).
 */
export type HttpMethod = 'get' | 'post' | 'del';

export interface HttpRequestParts {
  /** Percent-decoded path parameters, in pattern order. */
  readonly parameters: readonly string[];
  readonly query: URLSearchParams;
  /** Lower-cased, without parameters (`application/json`). */
  readonly mediaType: string;
  /** The whole body (bounded); empty for routes that take none. */
  readonly body: Promise<Uint8Array>;
  /**
   * True when a browser sent this from a page of another origin that is not allowed
   * (web-origin.ts). Browsers let a page send a "simple" POST to 127.0.0.1 without asking first;
   * the API sends no CORS headers, so such a page could never read an answer, but it could still
   * create topics or write records blind: such requests are refused.
   */
  readonly crossOrigin: boolean;
  /** Who the request acts for (User:ANONYMOUS without credentials, when that is allowed). */
  principal: Principal;
  /** The client's address, as ACL host patterns name it. */
  readonly clientHost: string;
}

export type HttpHandler = (exchange: HttpExchange, request: HttpRequestParts) => Promise<void>;

/** One permission a route needs before its handler runs (checked with the Kafka door's ACLs). */
export interface RouteAccess {
  readonly operation: CheckedOperation;
  readonly resourceType: CheckedResourceType;
  readonly resourceName: string;
}

export interface HttpRoute {
  readonly method: HttpMethod;
  readonly pattern: string;
  readonly handler: HttpHandler;
  /** What the request needs, from its path and query; none when absent. */
  readonly access?: (request: HttpRequestParts) => readonly RouteAccess[];
  /** Served without credentials even when authentication is on (/health). */
  readonly anonymous?: boolean;
}

export interface RouteContext {
  readonly budget: BodyBudget;
  readonly origins: WebOriginPolicy;
  readonly metrics: HttpMetrics;
  readonly maxBodyBytes: number;
  /** Checks credentials; absent: every request is anonymous (tests that need no security). */
  readonly authenticator?: HttpAuthenticator;
  readonly access?: AccessControl;
}

const EMPTY_BODY = Promise.resolve(new Uint8Array(0));

function parameterNames(pattern: string): string[] {
  return pattern
    .split('/')
    .filter((segment) => segment.startsWith(':'))
    .map((segment) => segment.slice(1));
}

function readParts(
  exchange: HttpExchange,
  res: HttpResponse,
  req: HttpRequest,
  route: HttpRoute,
  names: readonly string[],
  context: RouteContext,
): HttpRequestParts {
  const parameters = names.map((name, i) => pathParameter(req.getParameter(i), name));
  const query = new URLSearchParams(req.getQuery() ?? '');
  const mediaType = (req.getHeader('content-type').split(';')[0] ?? '').trim().toLowerCase();
  const crossOrigin = !context.origins.originAllowed(req.getHeader('origin'), req.getHeader('host'));
  const body =
    route.method === 'post'
      ? readBody(exchange, res, req.getHeader('content-length'), context.maxBodyBytes)
      : EMPTY_BODY;
  // A handler that fails before it reads the body leaves this promise unobserved.
  body.catch(() => undefined);
  const clientHost = Buffer.from(res.getRemoteAddressAsText()).toString();
  return { parameters, query, mediaType, body, crossOrigin, principal: ANONYMOUS_PRINCIPAL, clientHost };
}

export function mountRoute(app: TemplatedApp, route: HttpRoute, context: RouteContext): void {
  const names = parameterNames(route.pattern);
  app[route.method](route.pattern, (res, req) => {
    const exchange = new HttpExchange(res, route.pattern, context.budget, context.metrics);
    if (!context.origins.hostServed(req.getHeader('host'))) {
      // DNS rebinding: a page whose name now resolves here; its browser still names its own host.
      exchange.sendError(FORBIDDEN, 'this broker does not serve that host name (see --allowed-hosts)');
      exchange.finish();
      return;
    }
    let parts: HttpRequestParts;
    try {
      parts = readParts(exchange, res, req, route, names, context);
    } catch (error) {
      exchange.fail(error);
      exchange.finish();
      return;
    }
    if (parts.crossOrigin && route.method !== 'get') {
      exchange.sendError(
        FORBIDDEN,
        'requests that change state are not accepted from pages of another origin',
      );
      exchange.finish();
      return;
    }
    const authorization = req.getHeader('authorization');
    let work: Promise<void>;
    try {
      work =
        context.authenticator === undefined && context.access === undefined
          ? route.handler(exchange, parts)
          : authorizeThenHandle(exchange, parts, route, context, authorization);
    } catch (error) {
      work = Promise.reject(error);
    }
    work
      .catch((error: unknown) => exchange.fail(error))
      .finally(() => {
        // A handler that returned without answering is a bug; the client still gets an answer.
        if (exchange.open) exchange.sendError(FrontDoorError.INTERNAL, 'the handler sent no response');
        exchange.finish();
      });
  });
}

/** Unauthorized: no or bad credentials (the JSON error shape, with the scheme to use). */
export const UNAUTHORIZED: HttpErrorKind = { code: 'UNAUTHORIZED', status: 401 };

/**
 * Authenticates (401 when the credentials are missing or wrong), then checks every permission the
 * route declares (403, audited, on the first denied), then runs the handler.
 */
async function authorizeThenHandle(
  exchange: HttpExchange,
  parts: HttpRequestParts,
  route: HttpRoute,
  context: RouteContext,
  authorization: string,
): Promise<void> {
  if (context.authenticator !== undefined && route.anonymous !== true) {
    const outcome = await context.authenticator.authenticate(authorization);
    if ('refusal' in outcome) {
      exchange.sendError(UNAUTHORIZED, outcome.refusal, [
        ['www-authenticate', 'Basic realm="pyralog", Bearer'],
      ]);
      return;
    }
    parts.principal = outcome.principal;
  }
  const access = context.access;
  if (access !== undefined && !access.allowsEverything && route.access !== undefined) {
    const principal = principalText(parts.principal);
    for (const needed of route.access(parts)) {
      const label = `HTTP ${METHOD_NAMES[route.method]} ${route.pattern}`;
      if (
        !access.authorize(
          principal,
          parts.clientHost,
          needed.operation,
          needed.resourceType,
          needed.resourceName,
          label,
        )
      ) {
        exchange.sendError(
          FORBIDDEN,
          `${principal} may not ${aclOperationName(needed.operation)} ${aclResourceTypeName(needed.resourceType)} ${needed.resourceName}`,
        );
        return;
      }
    }
  }
  await route.handler(exchange, parts);
}

const METHOD_NAMES: Record<HttpMethod, string> = { get: 'GET', post: 'POST', del: 'DELETE' };

function matches(pattern: string, url: string): boolean {
  const want = pattern.split('/');
  const got = url.split('/');
  if (want.length !== got.length) return false;
  return want.every((segment, i) => segment.startsWith(':') || segment === got[i]);
}

/**
 * The catch-all: 405 with an `allow` header when the path is one of ours but
 * the method is not, else 404. Mounted last so every real route wins.
 */
export function mountFallback(app: TemplatedApp, routes: readonly HttpRoute[], context: RouteContext): void {
  app.any('/*', (res, req) => {
    const exchange = new HttpExchange(res, '*', context.budget, context.metrics);
    const method = req.getMethod().toUpperCase();
    const url = req.getUrl();
    const allowed = routes.filter((route) => matches(route.pattern, url)).map((r) => METHOD_NAMES[r.method]);
    if (url === '/ws') {
      exchange.sendError(
        FrontDoorError.BAD_REQUEST,
        'GET /ws needs a WebSocket upgrade (see docs/websocket.md)',
      );
    } else if (allowed.length > 0) {
      exchange.sendError(FrontDoorError.METHOD_NOT_ALLOWED, `${method} is not allowed on ${url}`, [
        ['allow', allowed.join(', ')],
      ]);
    } else {
      exchange.sendError(FrontDoorError.NOT_FOUND, `no route for ${method} ${url.slice(0, 200)}`);
    }
    exchange.finish();
  });
}
