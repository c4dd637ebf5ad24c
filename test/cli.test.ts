/**
 * @file The `adjoint` CLI, run as a child process the way a user runs it: the demo at small sizes (exit status 0,
 * the equations, shapes and ✓ marks), the chain of layers, the teaching-size fallback, --help, and bad usage
 * (exit status 2 with a message naming the problem). One test runs the demo in-process with a deliberately wrong
 * matmul, to see that a wrong gradient is caught and reported.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEMO_DEFAULTS, runDemo } from '../src/cli/demo.js';
import { makeStyle } from '../src/cli/term.js';
import * as ad from '../src/index.js';
import { cli, cliWithEnv } from './helpers.js';

const _root = fileURLToPath(new URL('..', import.meta.url));

function assertHas(text: string, ...fragments: string[]) {
  for (const f of fragments) assert.ok(text.includes(f), `output lacks ${JSON.stringify(f)}:\n${text}`);
}

describe('adjoint demo', () => {
  test('one layer at the requested size: shapes, equations, checks, timing', async () => {
    const r = await cli('demo', '--n', '8', '--d', '16', '--m', '4', '--runs', '3');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = r.stdout;
    assertHas(
      out,
      'checks   n=8  d=16  m=4   float64   the requested size',
      'Y = X · W + b   [8×16]·[16×4] + [4] → [8×4]',
      'dX = dY · Wᵀ',
      '[8×4]·[4×16] → [8×16]',
      'dW = Xᵀ · dY',
      '[16×8]·[8×4] → [16×4]',
      'db = Σᵢ dYᵢ',
      'Σ over 8 rows of [8×4] → [4]',
      '✓ = X.grad',
      '✓ = W.grad',
      '✓ = b.grad',
      'ad.gradcheck(f, [X, W, b])',
      '⟨X·W, U⟩',
      '⟨X, U·Wᵀ⟩',
      'ad.adjointCheck(f, [X, W, b])',
      '5. Timing  n=8 d=16 m=4, float32',
      'backward / forward',
      'peak memory held by tensors',
      '6. Profile it  ad.profile(() => forward(X).backward(U)), n=8 d=16 m=4, float32',
      'GEMM peak: a ',
      'Storage the pass allocated: ',
      'The same pass on each backend here, n=8',
      'All ',
      'checks passed.',
    );
    assert.ok(!out.includes('✗'), out);
    assert.ok(out.split('✓').length - 1 >= 12, 'at least 12 ✓ marks');
    assert.ok(!out.includes('\x1b['), 'no colour codes when stdout is not a terminal');
  });

  test('a chain of layers: every backward equation, in reverse order, and the composed adjoint', async () => {
    const r = await cli(
      'demo',
      '--layers',
      '6,5,3',
      '--n',
      '4',
      '--activation',
      'sigmoid',
      '--no-timing',
      '--seed',
      '3',
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = r.stdout;
    const order = ['dY = ∂L/∂Y = U', 'dA₁ = dY · W₂ᵀ', 'dW₂ = A₁ᵀ · dY', 'dZ₁ = dA₁ ⊙ A₁ ⊙ (1 − A₁)', 'dX = dZ₁ · W₁ᵀ'];
    const at = order.map((s) => out.indexOf(s));
    assert.ok(
      at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1])),
      `equations missing or out of order: ${at}\n${out}`,
    );
    assertHas(out, 'A₁ = sigmoid(Z₁)', 'dX = (dY·W₂ᵀ ⊙ A₁ ⊙ (1 − A₁))·W₁ᵀ', '⟨A₁·W₂, dY⟩', 'dW₁   30 elements');
    assert.ok(!out.includes('5. Timing'), '--no-timing skips the timing');
    assert.ok(!out.includes('✗'), out);
  });

  test('sizes too large for finite differences are checked at the teaching size', async () => {
    const r = await cli('demo', '--n', '64', '--d', '128', '--m', '32', '--no-timing');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assertHas(
      r.stdout,
      'checks   n=4  d=3  m=2   float64   a teaching size',
      '[3×4]·[4×2] → [3×2]',
      '[4×2]·[2×3] → [4×3]',
    );
  });

  test('a wrong gradient is caught: ✗ marks, the failed checks named, and a false result (exit status 1)', async () => {
    // Skew every matmul run outside grad mode: the explicit products then disagree with autograd's .grad.
    const proto = ad.Tensor.prototype;
    const matmul = proto.matmul;
    proto.matmul = function (this: ad.Tensor, other: ad.Tensor) {
      const r = matmul.call(this, other);
      return ad.isGradEnabled() ? r : r.mul(1.001);
    };
    const lines: string[] = [];
    try {
      const ok = await runDemo(
        { ...DEMO_DEFAULTS, n: 4, widths: [3, 2], timing: false },
        (s = '') => lines.push(s),
        makeStyle(false),
      );
      assert.equal(ok, false);
    } finally {
      proto.matmul = matmul;
    }
    const out = lines.join('\n');
    assertHas(
      out,
      '✗ = X.grad',
      '✗ = W.grad',
      '✓ = b.grad',
      'checks failed: X.grad = dX = dY · Wᵀ; W.grad = dW = Xᵀ · dY',
    );
  });
});

describe('adjoint usage', () => {
  test('--help documents the commands, and demo --help every option', async () => {
    const [top, demo, helpDemo] = await Promise.all([cli('--help'), cli('demo', '--help'), cli('help', 'demo')]);
    assert.equal(top.code, 0);
    assertHas(top.stdout, 'adjoint demo [options]', 'adjoint help', '--version');
    assert.equal(demo.code, 0);
    for (const opt of ['--n', '--d', '--m', '--layers', '--activation', '--dtype', '--seed', '--runs', '--no-timing'])
      assertHas(demo.stdout, `  ${opt} `);
    assertHas(demo.stdout, 'relu | sigmoid | tanh', 'float32 | float64', 'Exit status', 'dW = Xᵀ·dY');
    assert.equal(helpDemo.stdout, demo.stdout);
  });

  test('an unknown option, a bad value or an unknown command exits 2 with a message', async () => {
    const cases: [string[], string][] = [
      [['demo', '--bogus'], "unknown option '--bogus'"],
      [['demo', '--dtype', 'float16'], '--dtype must be one of float32, float64'],
      [['demo', '--n', '0'], '--n must be a whole number ≥ 1'],
      [['demo', '--layers', '5'], '--layers must be at least 2 whole numbers'],
      [['demo', '--d', '3', '--layers', '3,4'], 'either --layers or --d/--m'],
      [['demo', '--seed'], '--seed needs a value'],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    cases.forEach(([args, msg], i) => {
      const r = results[i];
      assert.equal(r.code, 2, `${args.join(' ')}: exit status ${r.code}`);
      assertHas(r.stderr, msg, '--help');
      assert.equal(r.stdout, '', `${args.join(' ')} printed to stdout`);
    });
  });
});

describe('the backend the CLI runs on', () => {
  test('auto picks the fastest backend and prints it; --backend and ADJOINT_BACKEND choose', async () => {
    const small = ['demo', '--n', '8', '--d', '16', '--m', '4', '--no-timing'];
    const [auto, js, env, bad] = await Promise.all([
      cli(...small),
      cli(...small, '--backend', 'js'),
      cliWithEnv({ ADJOINT_BACKEND: 'wasm' }, ...small),
      cli(...small, '--backend', 'gpu'),
    ]);
    assert.equal(auto.code, 0, auto.stderr);
    assertHas(auto.stdout, ad.backendNames().includes('blas') ? 'blas (OpenBLAS' : 'wasm (WebAssembly SIMD');
    assertHas(js.stdout, 'js (reference kernels');
    assertHas(env.stdout, 'wasm (WebAssembly SIMD');
    assert.equal(bad.code, 2);
    assertHas(bad.stderr, '--backend must be one of auto, js, wasm');
  });

  test('without OpenBLAS, auto falls back to wasm and says once how to install it', async () => {
    const r = await cliWithEnv({ ADJOINT_OPENBLAS: 'off' }, 'demo', '--n', '8', '--d', '16', '--m', '4', '--no-timing');
    assert.equal(r.code, 0, r.stderr);
    assertHas(r.stdout, 'wasm (WebAssembly SIMD');
    assertHas(r.stderr, 'OpenBLAS not found', 'apt-get install libopenblas0-pthread', 'brew install openblas');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('adjoint:'));
    assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
  });
});

describe('adjoint profile', () => {
  test('a built-in model step: the op and module tables, peak memory, and a trace file', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const trace = join(mkdtempSync(join(tmpdir(), 'adjoint-profile-')), 'step.json');
    const r = await cli('profile', '--model', 'cnn', '--steps', '1', '--batch', '4', '--rows', '5', '--trace', trace);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assertHas(
      r.stdout,
      'adjoint profile  cnn',
      'By op',
      'conv2d',
      'Fwd ms',
      'Bwd ms',
      'GFLOP/s',
      'By module',
      '0 (Conv2d)',
      'Peak live storage above the start',
      `trace written to ${trace}`,
    );
    const json = JSON.parse(readFileSync(trace, 'utf8'));
    assert.ok(json.traceEvents.some((e: { name: string; ph: string }) => e.name === 'conv2d' && e.ph === 'X'));
    const bad = await cli('profile', '--model', 'resnet');
    assert.equal(bad.code, 2);
    assertHas(bad.stderr, '--model must be one of');
  });
});
