/**
 * @file What the PyTorch parity tests (test/parity-*.test.ts) share: loading a committed fixture written by
 * scripts/parity_*.py, decoding the two tensor encodings those scripts write, running a module with its parameters
 * swapped (for gradcheck), and the whole test of a stepped fixture (the format of scripts/parity_common.py's
 * make_case: a state dict, then steps of inputs, outputs, gradients and buffers).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose } from './helpers.js';

/** test/fixtures/<name>.json, parsed. */
export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as T;
}

/** How a test says where its fixture comes from: the script that writes test/fixtures/<name>.json. */
export function regenerate(name: string): string {
  return `regenerate with \`/usr/bin/python3 scripts/${name.replace(/-/g, '_')}.py\` and commit test/fixtures/${name}.json`;
}

// ----- float64 tensors as {shape, values} (parity_common.enc) -------------------------------------------------

/** A float64 tensor as scripts/parity_common.py's enc writes it: its shape and its values in row-major order. */
export interface Enc {
  shape: number[];
  values: number[];
}

export const decodeEnc = (e: Enc): ad.Tensor => ad.tensor(e.values, { dtype: 'float64', shape: e.shape });

/** A state dict written as [key, Enc] pairs (torch's order). */
export function stateDictOf(state: [string, Enc][]): ad.nn.StateDict {
  return Object.fromEntries(state.map(([k, e]) => [k, decodeEnc(e)]));
}

/** The module's state-dict keys (in order) and shapes, and its repr, are torch's. */
export function assertTorchLayout(m: ad.nn.Module, c: { state: [string, Enc][]; repr: string }): void {
  assert.deepEqual(
    Object.entries(m.stateDict()).map(([k, t]) => [k, t.shape]),
    c.state.map(([k, e]) => [k, e.shape]),
  );
  assert.equal(m.toString(), c.repr);
}

/**
 * Runs fn with the module's parameters (by dotted name) replaced by the given tensors, then restores them: the
 * module as a function of its parameters, for gradcheck (which passes perturbed copies).
 */
export function withParams<T>(m: ad.nn.Module, names: string[], values: ad.Tensor[], fn: () => T): T {
  const owners = new Map(m.namedModules());
  const slots = names.map((name) => {
    const dot = name.lastIndexOf('.');
    const owner = owners.get(dot < 0 ? '' : name.slice(0, dot)) as unknown as Record<string, ad.Tensor>;
    return { owner, key: name.slice(dot + 1) };
  });
  const saved = slots.map(({ owner, key }) => owner[key]);
  slots.forEach(({ owner, key }, i) => {
    owner[key] = values[i];
  });
  try {
    return fn();
  } finally {
    slots.forEach(({ owner, key }, i) => {
      owner[key] = saved[i];
    });
  }
}

// ----- tensors of any dtype as {shape, dtype, values} (parity_common.encode) and stepped fixtures ----------------

/** A tensor as parity_common.encode writes it; JSON has no inf or nan, so they are the strings 'inf', '-inf', 'nan'. */
export interface TensorJson {
  shape: number[];
  dtype: ad.DType;
  values: (number | boolean | string)[];
}

const NONFINITE: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: Number.NaN };

/** The values as numbers (booleans as 0 and 1). */
export const values = (t: TensorJson): number[] =>
  t.values.map((v) => (typeof v === 'string' ? NONFINITE[v] : Number(v)));

export function decodeTensor(t: TensorJson): ad.Tensor {
  const vals = t.dtype === 'bool' ? (t.values as boolean[]) : values(t);
  return ad.tensor(vals, { dtype: t.dtype }).reshape(t.shape);
}

const RTOL = 1e-10;
const ATOL = 1e-12;

/** got is want: the same shape and dtype, and values within 1e-10 relative. */
export function compare(got: ad.Tensor, want: TensorJson, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape ${got.shape} vs PyTorch's ${want.shape}`);
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  assertClose(got.dataSync(), values(want), RTOL, ATOL, what);
}

/** One forward and backward of a case, as parity_common.run_step records it. */
export interface Step {
  train: boolean;
  inputs: Record<string, TensorJson>;
  outputs: TensorJson[];
  cotangents: TensorJson[];
  inputGrads: Record<string, TensorJson>;
  paramGrads: Record<string, TensorJson>;
  buffers: Record<string, TensorJson>;
}

export interface SteppedCase {
  name: string;
  state: Record<string, TensorJson>;
  steps: Step[];
}

/** A step's inputs, by the names the fixture gives them. */
export type Xs = Record<string, ad.Tensor>;

/**
 * How a test builds a fixture case's module and calls it: `call` returns the output, or the outputs (null ones,
 * which PyTorch returns as None, are skipped); `unused` names inputs the fixture has but the call leaves out.
 */
export interface SteppedSpec {
  make: () => ad.nn.Module;
  call: (m: any, xs: Xs) => ad.Tensor | (ad.Tensor | null)[];
  unused?: string[];
}

/**
 * The parity test of a stepped fixture: every fixture case has a spec and every spec a case; each case's module
 * has PyTorch's state-dict keys (in order) and shapes, loads PyTorch's state dict, and at each step gives PyTorch's
 * outputs, the gradients of the fixture's linear functional sum(c_i · out_i) with respect to every float input and
 * every parameter, and PyTorch's buffers after the step.
 */
export function steppedParity(title: string, name: string, specs: Record<string, SteppedSpec>): void {
  const fixture = loadFixture<{ torch: string; cases: SteppedCase[] }>(name);
  const again = regenerate(name);
  describe(title, () => {
    test('every fixture case has a module here, and every module here a fixture case', () => {
      const names = fixture.cases.map((c) => c.name);
      assert.deepEqual(
        names.filter((n) => !(n in specs)),
        [],
        `fixture cases without a module here (or renamed); ${again}`,
      );
      assert.deepEqual(
        Object.keys(specs).filter((n) => !names.includes(n)),
        [],
        `modules without a fixture case; ${again}`,
      );
    });

    for (const c of fixture.cases) {
      const spec = specs[c.name];
      if (!spec) continue;
      test(c.name, () => {
        ad.setBackend('js');
        const m = spec.make();
        const own = m.stateDict();
        assert.deepEqual(Object.keys(own), Object.keys(c.state), "state-dict keys, in PyTorch's order");
        for (const [k, t] of Object.entries(c.state)) assert.deepEqual(own[k].shape, t.shape, `the shape of ${k}`);
        const state: Record<string, ad.Tensor> = {};
        for (const [k, t] of Object.entries(c.state)) state[k] = decodeTensor(t);
        m.loadStateDict(state);
        c.steps.forEach((step, si) => runStep(m, spec, step, `step ${si} (${step.train ? 'train' : 'eval'})`));
      });
    }
  });
}

function runStep(m: ad.nn.Module, spec: SteppedSpec, step: Step, at: string): void {
  m.train(step.train);
  const used = (k: string) => !spec.unused?.includes(k);
  const xs: Xs = {};
  for (const [k, t] of Object.entries(step.inputs)) {
    const x = decodeTensor(t);
    xs[k] = t.dtype === 'float64' && used(k) ? x.requiresGrad_(true) : x;
  }
  const r = spec.call(m, xs);
  const outs = Array.isArray(r) ? r.filter((o): o is ad.Tensor => o !== null) : [r];
  assert.equal(outs.length, step.outputs.length, `${at}: number of outputs`);
  outs.forEach((o, i) => compare(o, step.outputs[i], `${at} output ${i}`));

  const loss = outs.map((o, i) => o.mul(decodeTensor(step.cotangents[i])).sum()).reduce((a, b) => a.add(b));
  const inputNames = Object.keys(xs).filter((k) => xs[k].requiresGrad);
  const params = m.namedParameters();
  const grads = ad.autograd.grad(loss, [...inputNames.map((k) => xs[k]), ...params.map(([, p]) => p)], {
    allowUnused: true,
  });
  assert.deepEqual(inputNames, Object.keys(step.inputGrads).filter(used), `${at}: the inputs with gradients`);
  inputNames.forEach((k, i) => {
    compare(grads[i] ?? ad.zerosLike(xs[k]), step.inputGrads[k], `${at} gradient of input ${k}`);
  });
  assert.deepEqual(
    params.map(([k]) => k),
    Object.keys(step.paramGrads),
    `${at}: the parameters with gradients`,
  );
  params.forEach(([k, p], i) => {
    compare(grads[inputNames.length + i] ?? ad.zerosLike(p), step.paramGrads[k], `${at} gradient of ${k}`);
  });
  const buffers = m.namedBuffers();
  assert.deepEqual(
    buffers.map(([k]) => k),
    Object.keys(step.buffers),
    `${at}: buffers`,
  );
  for (const [k, b] of buffers) compare(b, step.buffers[k], `${at} buffer ${k} after the step`);
}
