/**
 * The CLI's small HTTP client for a running broker's admin and record
 * routes (docs/http.md). Errors come back as the broker's JSON error body.
 */
export interface CommonOptions {
  url: string;
  rest: string[];
  flags: Map<string, string>;
}

export function parseCommon(argv: readonly string[], booleanFlags: readonly string[] = []): CommonOptions {
  const flags = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (eq !== -1) flags.set(name, arg.slice(eq + 1));
      else if (booleanFlags.includes(name)) flags.set(name, 'true');
      else {
        const value = argv[++i];
        if (value === undefined) throw new Error(`--${name} needs a value`);
        flags.set(name, value);
      }
    } else {
      rest.push(arg);
    }
  }
  const url = flags.get('url') ?? process.env.PYRALOG_URL ?? 'http://127.0.0.1:8080';
  return { url: url.replace(/\/$/, ''), rest, flags };
}

export async function requestJson(url: string, init?: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new Error(`cannot reach the broker at ${url}: ${(error as Error).message}`);
  }
  const text = await response.text();
  const body: unknown = text.length > 0 ? JSON.parse(text) : null;
  if (!response.ok) {
    const problem = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new Error(`${response.status} ${problem?.code ?? ''} ${problem?.message ?? text}`.trim());
  }
  return body;
}
