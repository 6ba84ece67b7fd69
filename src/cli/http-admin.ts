import { CliError, ExitCode, exitCodeForStatus } from './cli-errors.js';
import type { OptionValues } from './command-spec.js';

/**
 * The CLI's HTTP client for a running broker's API (docs/http.md). A broker
 * error comes back as a CliError carrying the broker's error code and message
 * and the exit code for its class; a broker that cannot be reached is
 * ExitCode.UNREACHABLE.
 */
export class BrokerHttp {
  readonly baseUrl: string;

  constructor(url: string) {
    this.baseUrl = url.replace(/\/+$/, '');
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
  async fetchOk(path: string, init?: RequestInit): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, init);
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
