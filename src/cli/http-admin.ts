import { CliError, ExitCode, exitCodeForStatus } from './cli-errors.js';
import type { OptionValues } from './command-spec.js';

/**
 * The CLI's HTTP client for a running broker's API (docs/http.md). A broker
 * error comes back as a CliError carrying the broker's error code and message
 * and the exit code for its class; a broker that cannot be reached is
 * ExitCode.UNREACHABLE.
 *
 * Credentials for a broker that requires them come from the environment, never
 * from arguments (which other users can read in the process list):
 * `PYRALOG_TOKEN` (a bearer token from `pyralog token create`), or
 * `PYRALOG_USER` with `PYRALOG_PASSWORD` (HTTP Basic). An `https://` URL is
 * checked against the system's CAs and those in `NODE_EXTRA_CA_CERTS`.
 */
export class BrokerHttp {
  readonly baseUrl: string;
  private readonly authorization: string | null;

  constructor(url: string, env: NodeJS.ProcessEnv = process.env) {
    this.baseUrl = url.replace(/\/+$/, '');
    this.authorization = authorizationFromEnv(env);
  }

  static fromOptions(values: OptionValues): BrokerHttp {
    const url = typeof values.url === 'string' ? values.url : undefined;
    return new BrokerHttp(url ?? process.env.PYRALOG_URL ?? 'http://127.0.0.1:8080');
  }

  topicPath(topic: string): string {
    return `/topics/${encodeURIComponent(topic)}`;
  }

  async get<T>(path: string): Promise<T> {
    return (await this.request('GET', path)) as T;
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return (await this.request('POST', path, JSON.stringify(body))) as T;
  }

  async delete<T>(path: string): Promise<T> {
    return (await this.request('DELETE', path)) as T;
  }

  /** The raw response of a successful request, for downloads; errors as for JSON. */
  async fetchOk(path: string, init: RequestInit = {}): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const headers = new Headers(init.headers);
    if (this.authorization !== null && !headers.has('authorization'))
      headers.set('authorization', this.authorization);
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers });
    } catch (error) {
      const reason =
        error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : '';
      throw new CliError(`cannot reach the broker at ${this.baseUrl}: ${reason}`, ExitCode.UNREACHABLE);
    }
    if (!response.ok) throw await brokerError(response);
    return response;
  }

  private async request(method: string, path: string, body?: string): Promise<unknown> {
    const response = await this.fetchOk(path, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    if (text.length === 0) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new CliError(
        `the broker answered ${method} ${path} with something that is not JSON`,
        ExitCode.FAILURE,
      );
    }
  }
}

/** `Authorization` from PYRALOG_TOKEN, or PYRALOG_USER and PYRALOG_PASSWORD; null when neither is set. */
export function authorizationFromEnv(env: NodeJS.ProcessEnv): string | null {
  const token = env.PYRALOG_TOKEN;
  if (token !== undefined && token.length > 0) return `Bearer ${token}`;
  const user = env.PYRALOG_USER;
  if (user === undefined || user.length === 0) return null;
  if (user.includes(':')) throw new CliError('PYRALOG_USER must not contain ":"', ExitCode.USAGE);
  return `Basic ${Buffer.from(`${user}:${env.PYRALOG_PASSWORD ?? ''}`).toString('base64')}`;
}

async function brokerError(response: Response): Promise<CliError> {
  const text = await response.text();
  let code = '';
  let message = text.slice(0, 500);
  try {
    const problem = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    code = problem?.code ?? '';
    message = problem?.message ?? message;
  } catch {
    // Not our JSON error body: the text itself is the best message there is.
  }
  return new CliError(
    `${code === '' ? response.status : code}: ${message}`,
    exitCodeForStatus(response.status),
  );
}
