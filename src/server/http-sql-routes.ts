import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { FrontDoorError, FrontDoorProblem } from '../protocol/front-door-errors.js';
import { AccessDeniedError } from '../security/access-control.js';
import { AclOperation, AclResourceType } from '../security/acl.js';
import { principalText } from '../security/principal.js';
import { SqlError, type SqlErrorCode } from '../sql/sql-errors.js';
import { SqlBusyError, type SqlService } from '../sql/sql-service.js';
import { FORBIDDEN, type HttpErrorKind, type HttpExchange } from './http-exchange.js';
import { choiceParameter, integerParameter, parseJsonBody } from './http-params.js';
import { ARROW_CONTENT_TYPE } from './http-read-route.js';
import type { HttpRequestParts, HttpRoute } from './http-route-table.js';
import { requireTopic } from './http-topic-routes.js';

/**
 * SQL over topics and Parquet export (docs/sql.md):
 *
 *   POST /sql   {"sql":"SELECT …","format":"json"|"arrow"}
 *               → 200 {"columns":[{"name","type"}],"rows":[[…]],"rowCount","truncated","notText",
 *                      "scan":{"records","bytes","partitions","loadMs"},"elapsedMs"}
 *               → 200 application/vnd.apache.arrow.stream (format arrow)
 *   GET  /topics/:topic/export?format=parquet&partition=P&from=N&to=N&fromTime=MS
 *               → 200 application/vnd.apache.parquet, as a download
 *
 * DuckDB runs in the SQL worker (src/sql); these handlers only pass requests
 * on and map its errors to statuses.
 */
const SQL_BYTES_MAX = 64 * 1024;
const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

const SQL_ERROR_STATUS: Record<SqlErrorCode, number> = {
  SQL_INVALID: 400,
  SQL_NOT_READ_ONLY: 400,
  SQL_TIMEOUT: 504,
  SQL_SCAN_TOO_LARGE: 413,
  SQL_OUT_OF_MEMORY: 413,
  SQL_FAILED: 500,
};

function sqlFailure(exchange: HttpExchange, error: unknown): void {
  if (error instanceof SqlBusyError) {
    exchange.sendError(FrontDoorError.UNAVAILABLE, error.message);
  } else if (error instanceof SqlError) {
    const kind: HttpErrorKind = { code: error.code, status: SQL_ERROR_STATUS[error.code] };
    exchange.sendError(kind, error.message);
  } else {
    exchange.fail(error);
  }
}

function bad(message: string): FrontDoorProblem {
  return new FrontDoorProblem(FrontDoorError.BAD_REQUEST, message);
}

/** Throws AccessDeniedError for a topic the request's principal may not Read; undefined when ACLs allow everything. */
function topicReadCheck(
  deps: FrontDoorDeps,
  request: HttpRequestParts,
): ((topic: string) => void) | undefined {
  const access = deps.access;
  if (access === undefined || access.allowsEverything) return undefined;
  const principal = principalText(request.principal);
  return (topic) => {
    if (
      !access.authorize(
        principal,
        request.clientHost,
        AclOperation.READ,
        AclResourceType.TOPIC,
        topic,
        'HTTP POST /sql',
      )
    ) {
      throw new AccessDeniedError(`${principal} may not READ TOPIC ${topic}`);
    }
  };
}

export function sqlRoutes(deps: FrontDoorDeps, sql: SqlService): HttpRoute[] {
  return [
    {
      method: 'post',
      pattern: '/sql',
      handler: async (exchange, request) => {
        const body = parseJsonBody(await request.body) as { sql?: unknown; format?: unknown } | null;
        if (
          body === null ||
          typeof body !== 'object' ||
          typeof body.sql !== 'string' ||
          body.sql.trim() === ''
        )
          throw bad('body must be {"sql": "SELECT …", "format": "json" | "arrow"}');
        if (body.sql.length > SQL_BYTES_MAX)
          throw bad(`the query is longer than ${SQL_BYTES_MAX} characters`);
        const format = body.format ?? 'json';
        if (format !== 'json' && format !== 'arrow') throw bad('format must be "json" or "arrow"');
        try {
          const answer = await sql.query(body.sql, format, topicReadCheck(deps, request));
          if (format === 'arrow') {
            exchange.send(200, ARROW_CONTENT_TYPE, answer.arrow!, [
              ['x-pyralog-row-count', String(answer.rowCount)],
              ['x-pyralog-truncated', String(answer.truncated)],
              ['content-disposition', 'attachment; filename="result.arrow"'],
            ]);
            return;
          }
          const { arrow: _unused, ...json } = answer;
          exchange.sendJson(200, json);
        } catch (error) {
          if (error instanceof AccessDeniedError) exchange.sendError(FORBIDDEN, error.message);
          else sqlFailure(exchange, error);
        }
      },
    },
    {
      method: 'get',
      pattern: '/topics/:topic/export',
      handler: async (exchange, request) => {
        const name = request.parameters[0]!;
        const topic = requireTopic(deps.engine, name);
        const query = request.query;
        choiceParameter(query.get('format'), 'format', ['parquet'], 'parquet');
        const partitionText = query.get('partition');
        const partition =
          partitionText === null || partitionText === ''
            ? null
            : integerParameter(partitionText, 'partition', 0, 0, topic.partitionCount - 1);
        const fromOffset = integerParameter(query.get('from'), 'from', 0, 0, Number.MAX_SAFE_INTEGER);
        const toOffset = integerParameter(
          query.get('to'),
          'to',
          Number.MAX_SAFE_INTEGER,
          0,
          Number.MAX_SAFE_INTEGER,
        );
        const fromTimestampMs = integerParameter(
          query.get('fromTime'),
          'fromTime',
          -1,
          0,
          Number.MAX_SAFE_INTEGER,
        );
        const toTimestampMs = integerParameter(query.get('toTime'), 'toTime', -1, 0, Number.MAX_SAFE_INTEGER);
        try {
          const parquet = await sql.exportParquet(name, {
            partition,
            fromOffset,
            toOffset,
            fromTimestampMs,
            toTimestampMs,
          });
          exchange.send(200, PARQUET_CONTENT_TYPE, parquet, [
            ['content-disposition', `attachment; filename="${name}.parquet"`],
          ]);
        } catch (error) {
          sqlFailure(exchange, error);
        }
      },
    },
  ];
}
