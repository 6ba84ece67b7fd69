/** `--name=value` options of a bench suite (`npm run bench -- kafka --seconds=8`). */
export function stringFlag(args: readonly string[], name: string, fallback: string): string {
  const found = args.find((arg) => arg.startsWith(`--${name}=`));
  return found === undefined ? fallback : found.slice(name.length + 3);
}

export function numberFlag(args: readonly string[], name: string, fallback: number): number {
  const value = Number(stringFlag(args, name, String(fallback)));
  if (!Number.isFinite(value)) throw new Error(`--${name} must be a number`);
  return value;
}
