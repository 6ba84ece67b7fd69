// Builds the console into dist/console: one JS bundle and one CSS file (uPlot's included), named by content
// hash so they can be cached forever, and index.html (never cached) naming them. No CDN, nothing fetched.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'console');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
const result = await build({
  entryPoints: [join(here, 'src', 'main.ts'), join(here, 'src', 'styles.css')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const js = outputs.find((name) => name.startsWith('main-') && name.endsWith('.js'));
const css = outputs.filter((name) => name.endsWith('.css'));
if (js === undefined || css.length === 0)
  throw new Error(`console build: unexpected outputs ${outputs.join(', ')}`);
// main.ts imports uPlot's CSS, so esbuild writes main-*.css beside styles-*.css: join them into one file.
const joined = css.map((name) => readFileSync(join(out, 'assets', name), 'utf8')).join('\n');
const cssName = `console-${createHash('sha256').update(joined).digest('hex').slice(0, 12)}.css`;
writeFileSync(join(out, 'assets', cssName), joined);
for (const name of css) rmSync(join(out, 'assets', name));
const html = readFileSync(join(here, 'index.html'), 'utf8').replace('{{JS}}', js).replace('{{CSS}}', cssName);
writeFileSync(join(out, 'index.html'), html);
