/**
 * @file Makes the trace screenshot of docs/PROFILING.md: opens a Chrome trace (from `adjoint profile --trace`) in
 * speedscope's viewer, served from this machine, in headless Chromium, and saves a PNG. Neither the Perfetto UI nor
 * chrome://tracing can be used here: Perfetto's UI is not on npm or apt and nothing else is reachable, and Chromium
 * 156 no longer has chrome://tracing. speedscope reads the same Trace Event Format (its "Time Order" view is the
 * trace's timeline). Needs `npm i --no-save speedscope` and Chromium (/usr/bin/chromium, or CHROMIUM_PATH).
 *
 *   npx tsx scripts/trace-screenshot.ts TRACE.json OUT.png [WIDTH HEIGHT]
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize } from 'node:path';
import { launchChromium } from '../test/chromium.js';

const [trace, out, w = '1600', h = '800'] = process.argv.slice(2);
if (!trace || !out) {
  console.error('usage: npx tsx scripts/trace-screenshot.ts TRACE.json OUT.png [WIDTH HEIGHT]');
  process.exit(2);
}
let viewer: string;
try {
  viewer = join(dirname(createRequire(import.meta.url).resolve('speedscope/package.json')), 'dist', 'release');
} catch {
  console.error('trace-screenshot: speedscope is not installed; run `npm i --no-save speedscope` first');
  process.exit(2);
}

const types: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};
const server = createServer((req, res) => {
  const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
  try {
    const body = path === '/trace.json' ? readFileSync(trace) : readFileSync(join(viewer, normalize(path)));
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
const browser = await launchChromium(await import('playwright-core'));
try {
  const page = await browser.newPage({ viewport: { width: Number(w), height: Number(h) } });
  const imported = page.waitForEvent('console', { predicate: (m) => m.text().startsWith('import:'), timeout: 30000 });
  const base = `http://127.0.0.1:${port}`;
  await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(`${base}/trace.json`)}`);
  await imported;
  await page.waitForTimeout(1000);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  server.close();
}
