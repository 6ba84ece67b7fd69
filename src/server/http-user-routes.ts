import type { FrontDoorDeps } from '../protocol/front-door-deps.js';
import { FrontDoorError, FrontDoorProblem } from '../protocol/front-door-errors.js';
import type { CredentialStore } from '../security/credential-store.js';
import { principalText } from '../security/principal.js';
import { isScramMechanism } from '../security/scram.js';
import { parseJsonBody } from './http-params.js';
import type { HttpRequestParts, HttpRoute } from './http-route-table.js';

/**
 * SASL users of a running broker, for `pyralog user` and other admin tools: the HTTP face of
 * DescribeUserScramCredentials and AlterUserScramCredentials, with the same rules. Listing needs
 * Describe on the cluster, changes Alter on the cluster (http-route-access.ts). As with the Kafka
 * API the client sends the salt, the iteration count and the SCRAM SaltedPassword it derived,
 * never the password; the broker keeps only StoredKey and ServerKey (credential-store.ts).
 *
 *   GET    /users          → 200 {"users":[{"name","credentials":[{"mechanism","iterations"}]}]}
 *   POST   /users/:user    {"mechanism":"SCRAM-SHA-512","iterations":4096,"salt":b64,"saltedPassword":b64}
 *                          → 200 {"user","mechanism","iterations"} (created or replaced)
 *   DELETE /users/:user    → 200 {"deleted":"alice"}, or 404 NOT_FOUND
 */
export function userRoutes(deps: FrontDoorDeps): HttpRoute[] {
  const store = (): CredentialStore => {
    if (deps.credentials === undefined)
      throw new FrontDoorProblem(FrontDoorError.NOT_FOUND, 'this broker keeps no users');
    return deps.credentials;
  };
  const audit = (request: HttpRequestParts, change: string, user: string): void =>
    deps.access?.auditChange(principalText(request.principal), change, { user });
  return [
    {
      method: 'get',
      pattern: '/users',
      handler: async (exchange) => exchange.sendJson(200, { users: store().list() }),
    },
    {
      method: 'post',
      pattern: '/users/:user',
      handler: async (exchange, request) => {
        const user = request.parameters[0]!;
        const credentials = store();
        const body = parseJsonBody(await request.body);
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw bad('body must be {"mechanism", "iterations", "salt", "saltedPassword"}');
        }
        const { mechanism, iterations, salt, saltedPassword } = body as Record<string, unknown>;
        if (typeof mechanism !== 'string' || !isScramMechanism(mechanism))
          throw bad('mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512');
        if (typeof iterations !== 'number' || !Number.isSafeInteger(iterations))
          throw bad('iterations must be a whole number');
        try {
          credentials.putSaltedPassword(
            user,
            mechanism,
            base64Field(salt, 'salt'),
            base64Field(saltedPassword, 'saltedPassword'),
            iterations,
          );
        } catch (error) {
          if (error instanceof RangeError) throw bad(error.message);
          throw error;
        }
        audit(request, 'user credentials altered', user);
        exchange.sendJson(200, { user, mechanism, iterations });
      },
    },
    {
      method: 'del',
      pattern: '/users/:user',
      handler: async (exchange, request) => {
        const user = request.parameters[0]!;
        if (!store().deleteUser(user))
          throw new FrontDoorProblem(FrontDoorError.NOT_FOUND, `no user ${user}`);
        audit(request, 'user deleted', user);
        exchange.sendJson(200, { deleted: user });
      },
    },
  ];
}

function bad(message: string): FrontDoorProblem {
  return new FrontDoorProblem(FrontDoorError.BAD_REQUEST, message);
}

function base64Field(value: unknown, name: string): Buffer {
  if (typeof value !== 'string' || value.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value))
    throw bad(`${name} must be a non-empty base64 string`);
  return Buffer.from(value, 'base64');
}
