/** Pyralog's TypeScript client for its WebSocket protocol. */
export { PyralogClientError } from './client-errors.js';
export {
  type ClientRecord,
  type FetchResult,
  type Isolation,
  type ProduceFormat,
  PyralogClient,
  type PyralogClientOptions,
} from './pyralog-client.js';
export { Subscription } from './subscription.js';
