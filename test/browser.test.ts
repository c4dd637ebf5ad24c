/**
 * @file The wasm backend in a real browser, where it is also the default ('auto' finds no OpenBLAS there): the
 * library bundled for the browser platform (esbuild), served from localhost with the cross-origin-isolation headers
 * SharedArrayBuffer needs, run in headless Chromium (Debian's, driven by playwright-core). A threaded matmul, a
 * convolution and one training step of a small MLP must match the js backend there, with Web Workers actually
 * running; and grad mode follows the documented rule for runtimes without AsyncLocalStorage (sync scopes exact, an
 * async fn's mode until its first await). Skipped, saying why, where Chromium or playwright-core is missing (.ci/run
 * installs both).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { CHROMIUM, launchChromium } from './chromium.js';
import { browserBundle } from './helpers.js';

async function playwright(): Promise<typeof import('playwright-core') | null> {
  try {
    return await import('playwright-core');
  } catch {
    return null;
  }
}

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import * as ad from './adjoint.js';
const out = { isolated: crossOriginIsolated, backends: ad.backendNames(), defaultBackend: ad.getBackend() };
try {
  // Norm-wise: max |a − b| over max |b| (float32 sums of 257 terms are not each within 1e-5 of float64's).
  const close = (a, b) => { let d = 0, m = 0; for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); } return d / m; };
  ad.manualSeed(0);
  const a = ad.randn([300, 257]);
  const b = ad.randn([257, 190]);
  ad.setBackend('js');
  const want = a.matmul(b).dataSync();
  ad.setBackend('wasm');
  ad.setNumThreads(2);
  await ad.ready();
  out.matmul = close(a.matmul(b).dataSync(), want);
  out.matmulT = close(b.mT.matmul(a.mT).mT.contiguous().dataSync(), want);
  const x = ad.randn([4, 3, 16, 16]);
  const w = ad.randn([8, 3, 3, 3]);
  ad.setBackend('js');
  const convWant = ad.conv2d(x, w, null, { padding: 1 }).dataSync();
  ad.setBackend('wasm');
  out.conv = close(ad.conv2d(x, w, null, { padding: 1 }).dataSync(), convWant);
  const step = (backend) => {
    ad.setBackend(backend);
    ad.manualSeed(1);
    const model = new ad.nn.Sequential(new ad.nn.Linear(64, 32), new ad.nn.ReLU(), new ad.nn.Linear(32, 10));
    const opt = new ad.optim.SGD(model.parameters(), { lr: 0.1 });
    const xs = ad.randn([16, 64]);
    const ys = ad.randint(0, 10, [16]);
    opt.zeroGrad();
    ad.F.crossEntropy(model.forward(xs), ys).backward();
    opt.step();
    return model.parameters().flatMap((p) => Array.from(p.dataSync()));
  };
  out.train = close(step('wasm'), step('js'));
  out.describe = ad.describeBackend('wasm');
  // A browser has no AsyncLocalStorage: sync scopes are exact, an async fn's mode lasts until its first await.
  const leaf = ad.tensor([1]).requiresGrad_();
  const warned = [];
  const warn = console.warn;
  console.warn = (m) => warned.push(String(m));
  out.modes = {
    sync: ad.noGrad(() => leaf.mul(2).requiresGrad),
    async: await ad.noGrad(async () => {
      const before = leaf.mul(2).requiresGrad;
      await new Promise((r) => setTimeout(r, 0));
      return [before, leaf.mul(2).requiresGrad];
    }),
    after: leaf.mul(2).requiresGrad,
    warned,
  };
  console.warn = warn;
} catch (e) {
  out.error = String(e && e.stack || e);
}
window.result = out;
</script>`;

test('the wasm backend runs threaded in headless Chromium and matches the js backend', async (t) => {
  const pw = await playwright();
  if (!pw || !existsSync(CHROMIUM)) {
    t.skip(`needs playwright-core and ${CHROMIUM} (Debian: apt-get install chromium)`);
    return;
  }
  const js = await browserBundle();
  const server = createServer((req, res) => {
    // Cross-origin isolation, without which browsers withhold SharedArrayBuffer (and so threads).
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (req.url === '/adjoint.js') {
      res.setHeader('Content-Type', 'text/javascript');
      res.end(js);
    } else {
      res.setHeader('Content-Type', 'text/html');
      res.end(PAGE);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchChromium(pw);
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, null, { timeout: 60_000 });
    const r = (await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result)) as {
      isolated: boolean;
      backends: string[];
      defaultBackend: string;
      error?: string;
      matmul: number;
      matmulT: number;
      conv: number;
      train: number;
      describe: string;
      modes: { sync: boolean; async: boolean[]; after: boolean; warned: string[] };
    };
    assert.deepEqual(errors, []);
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.isolated, true, 'the page should be cross-origin isolated');
    assert.deepEqual(r.backends, ['js', 'wasm'], 'no blas in a browser');
    assert.equal(r.defaultBackend, 'wasm', "the default ('auto') is the fastest backend a browser has");
    assert.ok(r.matmul < 1e-5 && r.matmulT < 1e-5, `matmul differs from js by ${r.matmul} / ${r.matmulT}`);
    assert.ok(r.conv < 1e-5, `conv2d differs from js by ${r.conv}`);
    assert.ok(r.train < 1e-5, `an SGD step differs from js by ${r.train}`);
    assert.match(r.describe, /WebAssembly SIMD.*2 thread\(s\), 1 worker\(s\) running/);
    assert.equal(r.modes.sync, false);
    assert.deepEqual(r.modes.async, [false, true], 'without AsyncLocalStorage the mode lasts until the first await');
    assert.equal(r.modes.after, true);
    assert.equal(r.modes.warned.length, 1);
    assert.match(r.modes.warned[0], /noGrad\(async fn\): this runtime has no AsyncLocalStorage/);
  } finally {
    await browser.close();
    server.close();
  }
});
