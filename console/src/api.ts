import { authHeaders } from './auth.js';

/**
 * The console's only way to the broker: the public HTTP API (docs/http.md)
 * of the page's own origin. Errors come back as the API's
 * {"error":{"code","message"}} turned into an ApiError.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function failure(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const problem = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    return new ApiError(response.status, problem?.code ?? String(response.status), problem?.message ?? text);
  } catch {
    return new ApiError(response.status, String(response.status), text.slice(0, 300));
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json', ...authHeaders() } });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders() },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export async function postForBlob(path: string, body: unknown): Promise<Blob> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders() },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.blob();
}

export async function getText(path: string): Promise<string> {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) throw await failure(response);
  return response.text();
}

export interface TopicSummary {
  name: string;
  partitions: number;
  config: Record<string, string>;
}

export interface PartitionState {
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
}

export interface TopicDetail {
  name: string;
  topicId: number;
  partitions: PartitionState[];
  config: Record<string, string>;
}

export interface ClusterInfo {
  clusterId: string;
  controller: number;
  brokers: { nodeId: number; host: string; kafkaPort: number }[];
  shards: number;
  fsync: string;
  topics: number;
  partitions: number;
  uptimeMs: number;
}

export interface GroupSummary {
  groupId: string;
  state: string;
  members: number;
  protocolType: string;
}

export interface GroupDetail {
  groupId: string;
  state: string;
  members: { memberId: string; clientId: string; clientHost: string }[];
  offsets: {
    topic: string;
    partition: number;
    committedOffset: number;
    highWatermark: number | null;
    lag: number | null;
  }[];
}

export interface SqlAnswer {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  scan: { records: number; bytes: number; partitions: number; loadMs: number };
  elapsedMs: number;
}
