import { AclOperation, AclResourceType, CLUSTER_RESOURCE_NAME } from '../security/acl.js';
import type { CheckedOperation } from '../security/authorizer.js';
import type { HttpRequestParts, HttpRoute, RouteAccess } from './http-route-table.js';

/**
 * What each HTTP route needs under the ACLs, as the Kafka door asks it for the same work:
 * producing needs Write on the topic, reading and exporting Read, creating a topic Create,
 * deleting Delete, settings DescribeConfigs/AlterConfigs, groups Describe/Read/Delete, the
 * cluster view Describe on the cluster, listing users Describe and changing them Alter on the
 * cluster (as Describe/AlterUserScramCredentials). POST /sql checks Read on each topic the query names
 * once it is planned (http-sql-routes.ts). Kept in one table so a route added without a line
 * here is visible in review: it then needs credentials (when they are on) but no ACL.
 */
const topic =
  (operation: CheckedOperation) =>
  (request: HttpRequestParts): RouteAccess[] => [
    { operation, resourceType: AclResourceType.TOPIC, resourceName: request.parameters[0] ?? '' },
  ];
const group =
  (operation: CheckedOperation) =>
  (request: HttpRequestParts): RouteAccess[] => [
    { operation, resourceType: AclResourceType.GROUP, resourceName: request.parameters[0] ?? '' },
  ];
const cluster = (operation: CheckedOperation) => (): RouteAccess[] => [
  { operation, resourceType: AclResourceType.CLUSTER, resourceName: CLUSTER_RESOURCE_NAME },
];

const routeAccess: Readonly<Record<string, (request: HttpRequestParts) => readonly RouteAccess[]>> = {
  'post /topics/:topic/records': topic(AclOperation.WRITE),
  'get /topics/:topic/partitions/:partition/records': topic(AclOperation.READ),
  'get /topics/:topic/export': topic(AclOperation.READ),
  'get /topics/:topic/partitions/:partition/offsets': topic(AclOperation.DESCRIBE),
  'get /topics/:topic': topic(AclOperation.DESCRIBE),
  'del /topics/:topic': topic(AclOperation.DELETE),
  'get /topics/:topic/config': topic(AclOperation.DESCRIBE_CONFIGS),
  'post /topics/:topic/config': topic(AclOperation.ALTER_CONFIGS),
  'post /topics/:topic/partitions': topic(AclOperation.ALTER),
  'post /topics': cluster(AclOperation.CREATE),
  'get /cluster': cluster(AclOperation.DESCRIBE),
  'get /groups': cluster(AclOperation.DESCRIBE),
  'get /groups/:group': group(AclOperation.DESCRIBE),
  'post /groups/:group/offsets': group(AclOperation.READ),
  'del /groups/:group': group(AclOperation.DELETE),
  'get /users': cluster(AclOperation.DESCRIBE),
  'post /users/:user': cluster(AclOperation.ALTER),
  'del /users/:user': cluster(AclOperation.ALTER),
};

/** The route with its ACL needs attached, and /health (and the console's static files) open to all. */
export function withAccess(route: HttpRoute): HttpRoute {
  if (route.pattern === '/health' || route.pattern === '/' || route.pattern === '/assets/:file') {
    return { ...route, anonymous: true };
  }
  const access = routeAccess[`${route.method} ${route.pattern}`];
  return access === undefined ? route : { ...route, access };
}
