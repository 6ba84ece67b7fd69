/**
 * kcat-style output templates for `pyralog consume --fmt`:
 *
 *   %t topic   %p partition   %o offset   %T timestamp (ms)   %k key   %s value
 *   %K key length   %S value length   %h headers (name=value,…)   %%  a percent sign
 *   \n newline   \t tab   \\ backslash
 *
 * A null key or value prints as nothing and its length as -1, as kcat does.
 * The template is compiled once into a list of parts, not re-read per record.
 */
export interface TemplateRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

type Part = string | ((record: TemplateRecord) => string);

const FIELDS: Record<string, (record: TemplateRecord) => string> = {
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => String(r.offset),
  T: (r) => String(r.timestamp),
  k: (r) => r.key ?? '',
  s: (r) => r.value ?? '',
  K: (r) => String(r.key === null ? -1 : Buffer.byteLength(r.key)),
  S: (r) => String(r.value === null ? -1 : Buffer.byteLength(r.value)),
  h: (r) =>
    Object.entries(r.headers)
      .map(([name, value]) => `${name}=${value ?? ''}`)
      .join(','),
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '0': '\0' };

export class TemplateError extends Error {}

export function compileTemplate(template: string): (record: TemplateRecord) => string {
  const parts: Part[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const char = template[i]!;
    const next = template[i + 1];
    if ((char === '%' || char === '\\') && next === undefined)
      throw new TemplateError(`the template ends with a lone "${char}"`);
    if (char === '%') {
      i++;
      if (next === '%') {
        text += '%';
        continue;
      }
      const field = FIELDS[next!];
      if (field === undefined)
        throw new TemplateError(`unknown field %${next} (known: %t %p %o %T %k %s %K %S %h)`);
      if (text !== '') parts.push(text);
      text = '';
      parts.push(field);
    } else if (char === '\\') {
      i++;
      text += ESCAPES[next!] ?? next!;
    } else {
      text += char;
    }
  }
  if (text !== '') parts.push(text);
  return (record) => {
    let out = '';
    for (const part of parts) out += typeof part === 'string' ? part : part(record);
    return out;
  };
}
