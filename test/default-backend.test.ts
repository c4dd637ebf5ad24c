/**
 * @file The default backend, as a fresh process sees it: with no ADJOINT_BACKEND, `import * as ad from 'adjoint'`
 * runs on the fastest backend here ('auto': blas, else wasm), yet importing maps no native library and starts no
 * thread; OpenBLAS is mapped at the first GEMM, and a library that is found but does not load falls back to wasm
 * with one warning. ADJOINT_BACKEND=js selects the reference, and a wrong ADJOINT_BACKEND is a typed error naming
 * the variable. Each case runs in a child process, since the choice is made once, at import.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import * as ad from '../src/index.js';

const INDEX = new URL('../src/index.ts', import.meta.url).href;
const LINUX = existsSync('/proc/self/maps');
const HAS_BLAS = ad.backendNames().includes('blas');

/** Runs an ES module body in a fresh Node with `env` over this one's environment minus ADJOINT_*; its stdout as JSON. */
function child(body: string, env: Record<string, string> = {}) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ADJOINT_')));
  const code = `import { readFileSync } from 'node:fs';
const linux = ${LINUX};
const maps = () => (linux ? readFileSync('/proc/self/maps', 'utf8') : '');
const threads = () => (linux ? Number(readFileSync('/proc/self/status', 'utf8').match(/Threads:\\s+(\\d+)/)[1]) : 0);
const out = {};
${body}
console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...inherited, ...env },
  });
  return {
    status: r.status,
    stderr: r.stderr,
    out: r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') : null,
  };
}

test('with no ADJOINT_BACKEND the default is the fastest backend, and importing loads nothing native', () => {
  const r = child(`
out.threadsBefore = threads();
const ad = await import(${JSON.stringify(INDEX)});
out.threadsAfter = threads();
out.backend = ad.getBackend();
out.fastest = ad.fastestBackend();
out.describe = ad.describeBackend();
out.mappedAtImport = /libopenblas/.test(maps());
out.koffiAtImport = /koffi/.test(maps());
const x = ad.randn([64, 64]);
x.add(1).exp().sum();
out.mappedAfterElementwise = /libopenblas/.test(maps());
x.matmul(x);
out.mappedAfterMatmul = /libopenblas/.test(maps());
out.describeAfter = ad.describeBackend();`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'the default is chosen silently');
  const o = r.out;
  assert.equal(o.backend, HAS_BLAS ? 'blas' : 'wasm');
  assert.equal(o.fastest, o.backend);
  assert.match(o.describe, /picked by 'auto'/);
  if (!LINUX) return;
  assert.equal(o.threadsAfter, o.threadsBefore, 'importing started a thread');
  assert.equal(o.mappedAtImport, false, 'importing mapped OpenBLAS');
  assert.equal(o.koffiAtImport, false, 'importing loaded koffi');
  assert.equal(o.mappedAfterElementwise, false, 'elementwise ops need no OpenBLAS');
  if (HAS_BLAS) {
    assert.match(o.describe, /loaded at the first matmul/);
    assert.equal(o.mappedAfterMatmul, true, 'the first matmul maps OpenBLAS');
    assert.doesNotMatch(o.describeAfter, /loaded at the first matmul/);
  }
});

test('mapping OpenBLAS makes its idle workers sleep at once, unless the user set OPENBLAS_THREAD_TIMEOUT', (t) => {
  if (!HAS_BLAS) return t.skip('no OpenBLAS here');
  const body = (preset: string | null) => `
${preset === null ? 'delete process.env.OPENBLAS_THREAD_TIMEOUT;' : `process.env.OPENBLAS_THREAD_TIMEOUT = '${preset}';`}
const ad = await import(${JSON.stringify(INDEX)});
out.before = process.env.OPENBLAS_THREAD_TIMEOUT ?? null;
ad.randn([8, 8]).matmul(ad.randn([8, 8]));
out.after = process.env.OPENBLAS_THREAD_TIMEOUT ?? null;`;
  const unset = child(body(null));
  assert.equal(unset.status, 0, unset.stderr);
  assert.deepEqual(unset.out, { before: null, after: '4' });
  const preset = child(body('20'));
  assert.equal(preset.status, 0, preset.stderr);
  assert.deepEqual(preset.out, { before: '20', after: '20' });
});

test('a small product runs on one OpenBLAS thread and the thread count comes back; large ones keep it', (t) => {
  if (!HAS_BLAS) return t.skip('no OpenBLAS here');
  const r = child(
    `const ad = await import(${JSON.stringify(INDEX)});
const { loadOpenBlas } = await import(${JSON.stringify(new URL('../src/backend/blas/openblas.ts', import.meta.url).href)});
ad.setBackend('js');
const a = ad.randn([64, 128]);
const b = ad.randn([128, 96]);
const want = a.matmul(b).dataSync();
ad.setBackend('blas');
ad.setNumThreads(2);
const onBlas = (t) => ad.tensor(Array.from(t.dataSync())).reshape(t.shape);
const got = onBlas(a).matmul(onBlas(b)).dataSync();
out.maxDiff = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])));
out.threads = ad.getNumThreads();
out.after = loadOpenBlas().getThreads();
ad.randn([300, 300]).matmul(ad.randn([300, 300]));
out.afterLarge = loadOpenBlas().getThreads();`,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.out.maxDiff < 1e-4, String(r.out.maxDiff));
  assert.equal(r.out.after, r.out.threads, 'the count setNumThreads gave is back after a small product');
  assert.equal(r.out.afterLarge, r.out.threads);
});

test('ADJOINT_BACKEND=js selects the reference backend, which maps no library', () => {
  const r = child(
    `const ad = await import(${JSON.stringify(INDEX)});
const x = ad.randn([64, 64]);
x.matmul(x);
out.backend = ad.getBackend();
out.describe = ad.describeBackend();
out.mapped = /libopenblas/.test(maps());`,
    { ADJOINT_BACKEND: 'js' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.out.backend, 'js');
  assert.equal(r.out.describe, 'js (reference kernels, 1 thread)');
  assert.equal(r.out.mapped, false);
});

test('a wrong ADJOINT_BACKEND is a ValueError naming the variable and the choices', () => {
  const r = child(`await import(${JSON.stringify(INDEX)});`, { ADJOINT_BACKEND: 'cuda' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ValueError: ADJOINT_BACKEND: unknown backend 'cuda'; available: js, wasm.*\(or 'auto'\)/);
  assert.match(r.stderr, /set ADJOINT_BACKEND to one of them, or unset it/);
});

test('ADJOINT_OPENBLAS=off: the default is wasm, chosen silently', () => {
  const r = child(
    `const ad = await import(${JSON.stringify(INDEX)});
out.backend = ad.getBackend();
out.names = ad.backendNames();`,
    { ADJOINT_OPENBLAS: 'off' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.out.backend, 'wasm');
  assert.deepEqual(r.out.names, ['js', 'wasm']);
});

test('an OpenBLAS file that does not load: the first matmul warns once and runs on wasm', () => {
  // A file that exists but is no shared library: found at import, fails when mapped.
  const notALibrary = new URL('../package.json', import.meta.url).pathname;
  const r = child(
    `const ad = await import(${JSON.stringify(INDEX)});
out.before = ad.getBackend();
ad.manualSeed(0);
const a = ad.randn([40, 30]);
const b = ad.randn([30, 20]);
const got = Array.from(a.matmul(b).dataSync());
a.matmul(b);
out.after = ad.getBackend();
out.names = ad.backendNames();
out.describe = ad.describeBackend();
ad.setBackend('js');
const want = Array.from(a.matmul(b).dataSync());
out.maxDiff = Math.max(...got.map((g, i) => Math.abs(g - want[i])));
try { ad.setBackend('blas'); } catch (e) { out.blasError = e.name + ': ' + e.message; }`,
    { ADJOINT_OPENBLAS: notALibrary },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.out.before, 'blas');
  assert.equal(r.out.after, 'wasm');
  assert.deepEqual(r.out.names, ['js', 'wasm']);
  assert.match(r.out.describe, /^wasm .*because OpenBLAS did not load/);
  assert.ok(r.out.maxDiff < 1e-4, `the fallback matmul differs from js by ${r.out.maxDiff}`);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('adjoint:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /OpenBLAS did not load \(tried .*package\.json.*the wasm backend runs from now on/);
  assert.match(r.out.blasError, /^ValueError: setBackend: the blas backend is unavailable here: OpenBLAS did not load/);
});
