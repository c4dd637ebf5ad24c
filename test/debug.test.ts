/**
 * @file Debugging gradients: anomaly mode names the op of each planted fault (forward: log(0)·0, 0/0, sqrt(−1), exp
 * overflow; backward only: sqrt and pow(x, 0.5) at 0; forward mode: sqrt's JVP at 0) and stays silent when off;
 * gradReport's norms, ratios and flags against hand-computed values; explain's equations and shapes for a 2-layer
 * MLP in backward order; toDot's DOT text; and the `adjoint explain` command.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ad from '../src/index.js';
import { cli } from './helpers.js';

const _root = fileURLToPath(new URL('..', import.meta.url));

/** Runs fn in anomaly mode and returns the AnomalyError it throws. */
function anomalyOf(fn: () => void): ad.AnomalyError {
  try {
    ad.detectAnomaly(fn);
  } catch (e) {
    assert.ok(e instanceof ad.AnomalyError, `expected an AnomalyError, got ${e}`);
    return e;
  }
  assert.fail('no AnomalyError was thrown');
}

/** The error was raised for `op` in `phase`, and its stack points into this file. */
function assertNames(e: ad.AnomalyError, op: string, phase: ad.AnomalyPhase) {
  assert.equal(e.op, op, e.message);
  assert.equal(e.phase, phase, e.message);
  assert.ok(e.message.includes(op), e.message);
  assert.ok(e.createdAt.length > 0 && e.createdAt[0].includes('debug.test.ts'), e.createdAt.join('\n'));
  assert.ok(
    e.createdAt.every((f) => !f.includes('/src/')),
    `library frames were not trimmed:\n${e.createdAt.join('\n')}`,
  );
}

describe('detectAnomaly: forward faults', () => {
  test('log(0)·0 names log, its input shape and the output', () => {
    const e = anomalyOf(() => {
      const x = ad.tensor([0, 1, 2]).requiresGrad_();
      x.log().mul(0).sum().backward();
    });
    assertNames(e, 'log', 'forward');
    assert.equal(e.which, 'output');
    assert.deepEqual(e.inputShapes, [[3]]);
    assert.equal(e.backwardName, 'LogBackward');
    assert.match(e.message, /-Infinity at \[0\]/);
  });

  test('0/0 names div', () => {
    const e = anomalyOf(() => {
      const x = ad.tensor([
        [0, 1],
        [2, 3],
      ]);
      x.div(x.sum(1, true).sub(1));
    });
    assertNames(e, 'div', 'forward');
    assert.deepEqual(e.inputShapes, [
      [2, 2],
      [2, 1],
    ]);
    assert.match(e.message, /NaN at \[0, 0\]/);
  });

  test('sqrt(−1) names sqrt', () => {
    const e = anomalyOf(() => {
      const x = ad.tensor([4, -1, 9]).requiresGrad_();
      x.sqrt().sum();
    });
    assertNames(e, 'sqrt', 'forward');
    assert.match(e.message, /NaN at \[1\]/);
  });

  test('exp overflowing float32 names exp', () => {
    const e = anomalyOf(() => {
      const w = ad.tensor([[50, 60]]).requiresGrad_();
      ad.tensor([[1], [2]])
        .matmul(w)
        .exp();
    });
    assertNames(e, 'exp', 'forward');
    assert.deepEqual(e.inputShapes, [[2, 2]]);
    assert.match(e.message, /Infinity at \[1, 0\]/);
  });

  test('a non-finite value already in the input is passed along, not blamed on the op', () => {
    ad.detectAnomaly(() => {
      const y = ad.tensor([Number.NaN, 1]).mul(2).exp();
      assert.ok(Number.isNaN(y.dataSync()[0]));
    });
  });
});

describe('detectAnomaly: backward faults', () => {
  test('sqrt at 0: finite forward, infinite gradient, names SqrtBackward and the input', () => {
    const e = anomalyOf(() => {
      const x = ad.tensor([0, 1, 4]).requiresGrad_();
      x.sqrt().sum().backward();
    });
    assertNames(e, 'sqrt', 'backward');
    assert.equal(e.backwardName, 'SqrtBackward');
    assert.equal(e.input, 0);
    assert.equal(e.which, 'grad of input 0');
    assert.match(e.message, /SqrtBackward: the VJP of sqrt returned a non-finite gradient for input 0/);
  });

  test('pow(x, 0.5) at 0 names PowBackward, not the ops its rule is made of', () => {
    const e = anomalyOf(() => {
      const x = ad
        .tensor([
          [0, 1],
          [4, 2],
        ])
        .requiresGrad_();
      const y = x.mul(2).pow(0.5).sum();
      ad.autograd.grad(y, x);
    });
    assertNames(e, 'pow', 'backward');
    assert.equal(e.backwardName, 'PowBackward');
    assert.deepEqual(e.inputShapes, [[2, 2], []]);
  });

  test('switched on only for backward: the op is named, its creation site is not recorded', () => {
    const x = ad.tensor([0, 1]).requiresGrad_();
    const y = x.sqrt().sum();
    let err: unknown;
    try {
      ad.detectAnomaly(() => y.backward());
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ad.AnomalyError);
    assert.equal(err.op, 'sqrt');
    assert.deepEqual(err.createdAt, []);
    assert.match(err.message, /not recorded/);
  });

  test("forward mode: sqrt's JVP at 0", () => {
    const e = anomalyOf(() => {
      ad.forwardAD(() => {
        ad.makeDual(ad.tensor([0, 1]), ad.tensor([1, 1])).sqrt();
      });
    });
    assertNames(e, 'sqrt', 'forward-mode');
  });
});

describe('anomaly mode off', () => {
  test('the same faults produce NaN/Inf without a throw', () => {
    assert.equal(ad.isAnomalyEnabled(), false);
    const x = ad.tensor([0, 1, 4]).requiresGrad_();
    x.log().mul(0).sum().backward();
    assert.ok(Number.isNaN(x.grad!.dataSync()[0]));
    assert.ok(
      Number.isNaN(
        ad
          .tensor([0])
          .div(ad.tensor([0]))
          .item(),
      ),
    );
    const z = ad.tensor([0, 1]).requiresGrad_();
    z.sqrt().sum().backward();
    assert.equal(z.grad!.dataSync()[0], Infinity);
  });

  test('detectAnomaly restores the previous setting, also after a throw; setDetectAnomaly is global', () => {
    assert.throws(() => ad.detectAnomaly(() => ad.tensor([-1]).sqrt()), ad.AnomalyError);
    assert.equal(ad.isAnomalyEnabled(), false);
    assert.equal(ad.setDetectAnomaly(true), false);
    try {
      assert.equal(ad.isAnomalyEnabled(), true);
      assert.throws(() => ad.tensor([0]).log(), /log: produced a non-finite output/);
    } finally {
      ad.setDetectAnomaly(false);
    }
    assert.equal(ad.isAnomalyEnabled(), false);
  });

  test('a healthy training step passes in anomaly mode and gives the same gradients', () => {
    const run = () => {
      ad.manualSeed(3);
      const W = ad.randn([4, 3]).requiresGrad_();
      const b = ad.randn([3]).requiresGrad_();
      const x = ad.randn([5, 4]);
      ad.F.crossEntropy(x.matmul(W).add(b).tanh(), ad.tensor([0, 1, 2, 1, 0], { dtype: 'int32' })).backward();
      return [...W.grad!.dataSync(), ...b.grad!.dataSync()];
    };
    assert.deepEqual(ad.detectAnomaly(run), run());
  });
});

describe('gradReport', () => {
  test('norms, ratio lr·‖g‖/‖p‖ and flags against hand-computed values', () => {
    const p = ad.tensor([3, 4], { dtype: 'float64' }).requiresGrad_();
    const tiny = ad.tensor([1, 2], { dtype: 'float64' }).requiresGrad_();
    const huge = ad.tensor([[1, 1]], { dtype: 'float64' }).requiresGrad_();
    const unused = ad.tensor([2], { dtype: 'float64' }).requiresGrad_();
    p.mul(ad.tensor([1, 2], { dtype: 'float64' }))
      .sum()
      .add(tiny.mul(1e-9).sum())
      .add(huge.mul(ad.tensor([3000, 4000], { dtype: 'float64' })).sum())
      .backward();
    const r = ad.gradReport({ p, tiny, huge, unused }, { lr: 0.1 });
    const [rp, rt, rh, ru] = r.rows;
    assert.deepEqual(
      r.rows.map((x) => x.name),
      ['p', 'tiny', 'huge', 'unused'],
    );
    assert.ok(Math.abs(rp.gradNorm! - Math.sqrt(5)) < 1e-15);
    assert.equal(rp.paramNorm, 5);
    assert.ok(Math.abs(rp.ratio! - (0.1 * Math.sqrt(5)) / 5) < 1e-15);
    assert.equal(rp.flag, '');
    assert.ok(Math.abs(rt.gradNorm! - Math.SQRT2 * 1e-9) < 1e-22);
    assert.equal(rt.flag, 'vanishing');
    assert.equal(rh.gradNorm, 5000);
    assert.ok(Math.abs(rh.paramNorm - Math.SQRT2) < 1e-15);
    assert.equal(rh.flag, 'exploding');
    assert.deepEqual([ru.gradNorm, ru.ratio, ru.flag], [null, null, 'no grad']);
    assert.equal(ru.paramNorm, 2);
    assert.ok(Math.abs(r.totalGradNorm - Math.sqrt(5 + 2e-18 + 25e6)) < 1e-9);
    assert.deepEqual(
      r.flagged.map((x) => x.name),
      ['tiny', 'huge', 'unused'],
    );

    const lines = r.toString().split('\n');
    assert.match(lines[0], /^parameter\s+shape\s+‖grad‖\s+‖param‖\s+lr·‖grad‖\/‖param‖\s+flag$/);
    assert.match(lines[1], /^p\s+\[2\]\s+2\.236\s+5\s+0\.04472$/);
    assert.match(lines[2], /^tiny\s+\[2\]\s+1\.41e-9\s+2\.236\s+6\.32e-11\s+⚠ vanishing$/);
    assert.match(lines[3], /^huge\s+\[1×2\]\s+5000\s+1\.414\s+353\.6\s+⚠ exploding$/);
    assert.match(lines[4], /^unused\s+\[1\]\s+—\s+2\s+—\s+⚠ no grad$/);
    // Numbers right-aligned: the numeric columns end at the same place on every row.
    for (const column of [2, 3, 4]) {
      const ends = lines.slice(0, 5).map((l) => {
        const m = new RegExp(`^((?:\\S+(?: \\S+)*\\s+){${column}})(\\S+(?: \\S+)*)`).exec(l)!;
        return m[1].length + m[2].length;
      });
      assert.ok(
        ends.every((e) => e === ends[0]),
        `column ${column} is not right-aligned:\n${lines.join('\n')}`,
      );
    }
    assert.match(lines[6], /total ‖grad‖ 5000 over 4 parameters; lr = 0.1; .* 3 flagged/);
  });

  test('a module, a Map and an array are accepted; a non-tensor is refused', () => {
    const a = ad.tensor([1, 0]).requiresGrad_();
    const b = ad.tensor([0, 2]).requiresGrad_();
    a.add(b).sum().backward();
    b.name = 'bias';
    const module = {
      namedParameters: (): [string, ad.Tensor][] => [
        ['fc.weight', a],
        ['fc.bias', b],
      ],
    };
    assert.deepEqual(
      ad.gradReport(module).rows.map((r) => [r.name, r.gradNorm, r.ratio]),
      [
        ['fc.weight', Math.SQRT2, Math.SQRT2],
        ['fc.bias', Math.SQRT2, Math.SQRT2 / 2],
      ],
    );
    assert.deepEqual(
      ad.gradReport(new Map([['w', a]])).rows.map((r) => r.name),
      ['w'],
    );
    assert.deepEqual(
      ad.gradReport([a, b]).rows.map((r) => r.name),
      ['[0]', 'bias'],
    );
    assert.throws(() => ad.gradReport({ w: a, lr: 0.1 } as never), /parameter 'lr' is number, not a Tensor/);
  });
});

/** A 2-layer MLP with named tensors: X [4×3] → W1 [3×5] → relu → W2 [5×2] → mean squared error. */
function mlp() {
  ad.manualSeed(0);
  const named = (t: ad.Tensor, n: string) => Object.assign(t, { name: n });
  const X = named(ad.randn([4, 3]), 'X');
  const W1 = named(ad.randn([3, 5]).requiresGrad_(), 'W1');
  const b1 = named(ad.randn([5]).requiresGrad_(), 'b1');
  const W2 = named(ad.randn([5, 2]).requiresGrad_(), 'W2');
  const b2 = named(ad.randn([2]).requiresGrad_(), 'b2');
  const H1 = named(X.matmul(W1).add(b1), 'H1');
  const A1 = named(H1.relu(), 'A1');
  const H2 = named(A1.matmul(W2).add(b2), 'H2');
  const L = named(
    H2.sub(ad.randn([4, 2]))
      .pow(2)
      .sum(),
    'L',
  );
  return { L, H2 };
}

const squash = (s: string) => s.replace(/ +/g, ' ');

describe('explain', () => {
  test('a 2-layer MLP: the adjoint equations with shapes, in the order backward runs them', () => {
    const { L, H2 } = mlp();
    const ex = ad.explain(L, { tensors: [H2] });
    const text = squash(ex.toString());
    const expected = [
      'dL = 1 []',
      'dt4 = expand(dL) [] → [4×2]',
      'dt3 = dt4 ⊙ 2·t3 [4×2]',
      'dH2 = dt3 [4×2]',
      'db2 = Σ_rows dH2 [4×2] → [2]',
      'dA1 = dH2 · W2ᵀ [4×2]·[2×5] → [4×5]',
      'dW2 = A1ᵀ · dH2 [5×4]·[4×2] → [5×2]',
      'dH1 = dA1 ⊙ 1[H1 > 0] [4×5]',
      'db1 = Σ_rows dH1 [4×5] → [5]',
      'dW1 = Xᵀ · dH1 [3×4]·[4×5] → [3×5]',
    ];
    let at = -1;
    for (const line of expected) {
      const i = text.indexOf(`\n ${line}`, at);
      assert.ok(i > at, `missing or out of order: ${line}\n${text}`);
      at = i;
    }
    assert.deepEqual(
      ex.backward.map((q) => q.grad),
      ['dL', 'dt4', 'dt3', 'dH2', 'db2', 'dA1', 'dW2', 'dH1', 'db1', 'dW1'],
    );
    const dW1 = ex.backward.at(-1)!;
    assert.deepEqual(
      { of: dW1.of, rhs: dW1.rhs, op: dW1.op, node: dW1.node, input: dW1.input, leaf: dW1.leaf, shape: dW1.shape },
      { of: 'W1', rhs: 'Xᵀ · dH1', op: 'matmul', node: 'MmBackward', input: 1, leaf: true, shape: [3, 5] },
    );
    // The forward section lists the recorded ops in the order they ran; X·W1 inside H1 is unnamed (t1), and its
    // gradient is dH1 itself, so it never appears in the backward lines.
    assert.deepEqual(
      ex.forward.map((f) => `${f.name} = ${f.op}(${f.inputs.join(', ')})`),
      [
        't1 = matmul(X, W1)',
        'H1 = add(t1, b1)',
        'A1 = relu(H1)',
        't2 = matmul(A1, W2)',
        'H2 = add(t2, b2)',
        't3 = sub(H2, const[4×2])',
        't4 = pow(t3, 2)',
        'L = sum(t4)',
      ],
    );
  });

  test('named intermediates are found through their nodes; unnamed ones get generated names', () => {
    const { L } = mlp();
    const names = ad.explain(L).forward.map((f) => f.name);
    assert.deepEqual(names, ['t1', 'H1', 'A1', 't2', 'H2', 't3', 't4', 'L']);
  });

  test('columns are aligned: every right-hand side starts at the same column', () => {
    const { L } = mlp();
    const lines = ad.explain(L).toString().split('\n');
    const bwd = lines.slice(lines.findIndex((l) => l.startsWith('Backward')) + 1);
    const cols = bwd.map((l) => l.indexOf('=') + 2);
    assert.ok(
      cols.every((c) => c === cols[0]),
      bwd.join('\n'),
    );
  });

  test('a tensor used twice accumulates with +=; ops without a template fall back to <Op>Backward(dY)', () => {
    const q = ad.tensor([1, 2, 3]).requiresGrad_();
    q.name = 'q';
    const y = q.mul(q).sum();
    y.name = 'y';
    const lines = ad.explain(y).backward.map((e) => squash(e.text));
    assert.deepEqual(lines, ['dy = 1 []', 'dt1 = expand(dy) [] → [3]', 'dq = dt1 ⊙ q [3]', 'dq += dt1 ⊙ q [3]']);
    // An in-place op on a slice records copySlices, which has no template.
    const v = q.mul(1);
    ad.slice(v, 0, 0, 2).mul_(2);
    const ex = ad.explain(v.sum());
    assert.deepEqual(
      ex.backward.filter((e) => e.op === 'copySlices').map((e) => squash(e.text)),
      ['dt1 = CopySlices(dt4) [3]', 'dt3 = CopySlices(dt4) [3] → [2]'],
    );
  });

  test('after backward freed the graph, explain still writes the equations and says what was lost', () => {
    const { L } = mlp();
    L.backward();
    const text = ad.explain(L).toString();
    assert.match(text, /call explain before backward, or pass \{retainGraph: true\} to it/);
    // Names live on the nodes, so they survive; the freed saved values (X here, a constant) do not.
    assert.ok(squash(text).includes('db1 = Σ_rows dH1 [4×5] → [5]'), text);
  });

  test('a tensor outside any graph is refused with a message', () => {
    assert.throws(() => ad.explain(ad.ones([2])), /no gradFn and does not require grad/);
  });
});

describe('toDot', () => {
  test('DOT text: one declaration per op and leaf, edges between declared ids, ops and names in labels', () => {
    const { L, H2 } = mlp();
    const dot = ad.toDot(L, { tensors: [H2] });
    const lines = dot.trim().split('\n');
    assert.equal(lines[0], 'digraph "adjoint" {');
    assert.equal(lines.at(-1), '}');
    const decl = /^ {2}(\w+) \[label="((?:[^"\\]|\\.)*)"(, [\w-]+=(?:"[^"]*"|[\w#]+))*\];$/;
    const edge = /^ {2}(\w+) -> (\w+)( \[label="\d+"\])?;$/;
    const ids = new Map<string, string>();
    const edges: [string, string][] = [];
    for (const l of lines.slice(1, -1)) {
      if (/^ {2}(rankdir|node|edge)\b/.test(l)) continue;
      const d = decl.exec(l);
      const e = edge.exec(l);
      assert.ok(d || e, `not a DOT statement: ${l}`);
      if (d) ids.set(d[1], d[2]);
      if (e) edges.push([e[1], e[2]]);
    }
    for (const [a, b] of edges) assert.ok(ids.has(a) && ids.has(b), `edge ${a} -> ${b} to an undeclared node`);
    const labels = [...ids.values()];
    for (const op of ['matmul', 'add', 'relu', 'sub', 'pow', 'sum'])
      assert.ok(
        labels.some((l) => l.startsWith(`${op}\\n`)),
        `no ${op} node:\n${dot}`,
      );
    assert.ok(labels.includes('W1\\n[3×5] float32'), dot);
    assert.ok(labels.includes('relu\\nA1 [4×5] float32\\nReluBackward'), dot);
    assert.ok(labels.includes('add\\nH2 [4×2] float32\\nAddBackward'), dot);
    // 8 ops, 4 leaves; every op has an edge from each differentiable input.
    assert.equal(ids.size, 12);
    assert.equal(edges.length, 11);
  });
});

describe('adjoint explain', () => {
  test('--layers 8,4,2 prints the MLP backward pass as adjoint equations', async () => {
    const [r, dot, help, bad] = await Promise.all([
      cli('explain', '--layers', '8,4,2'),
      cli('explain', '--layers', '8,4,2', '--batch', '3', '--dot'),
      cli('explain', '--help'),
      cli('explain', '--activation', 'swish'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = squash(r.stdout);
    const expected = [
      'MLP 8→4→2, relu, batch 128, L = crossEntropy(H2, T)',
      'H1 = add(t1, b1) [128×4], [4] → [128×4]',
      'dL = 1 []',
      'dH2 = dt3 − exp(t3) ⊙ Σ_cols dt3 [128×2]',
      'db2 = Σ_rows dH2 [128×2] → [2]',
      'dA1 = dH2 · W2ᵀ [128×2]·[2×4] → [128×4]',
      'dW2 = A1ᵀ · dH2 [4×128]·[128×2] → [4×2]',
      'dH1 = dA1 ⊙ 1[H1 > 0] [128×4]',
      'db1 = Σ_rows dH1 [128×4] → [4]',
      'dW1 = Xᵀ · dH1 [8×128]·[128×4] → [8×4]',
    ];
    let at = -1;
    for (const line of expected) {
      const i = out.indexOf(line, at);
      assert.ok(i > at, `missing or out of order: ${line}\n${r.stdout}`);
      at = i;
    }

    assert.equal(dot.code, 0, dot.stderr);
    assert.match(dot.stdout, /^digraph "mlp 8-4-2" \{\n/);
    assert.ok(dot.stdout.includes('[label="matmul\\nt1 [3×4] float32\\nMmBackward", shape=box]'), dot.stdout);
    assert.ok(dot.stdout.includes('[label="X\\n') === false, 'X does not require grad: not in the graph');

    assert.equal(help.code, 0);
    for (const opt of ['--layers', '--activation', '--batch', '--loss', '--seed', '--dot'])
      assert.ok(help.stdout.includes(`  ${opt} `), `--help lacks ${opt}`);

    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--activation must be one of relu, sigmoid, tanh, gelu/);
    assert.match(bad.stderr, /adjoint explain --help/);
  });
});
