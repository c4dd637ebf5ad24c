/**
 * @file `adjoint demo`: backprop through Y = X·W + b, the Rosetta stone of reverse mode. The forward multiplies by
 * W, the backward by Wᵀ (dX = dY·Wᵀ, dW = Xᵀ·dY), and the bias broadcast over rows becomes a sum over rows
 * (db = Σᵢ dYᵢ). The demo prints every shape and equation, checks autograd against those explicit products,
 * against central finite differences and against the adjoint identity, then times forward against backward.
 * With --layers it does the same for a chain of Linear layers, where the adjoints compose in reverse order.
 */
import * as ad from '../index.js';
import { bytes, count, full, median, ms, type Style, sci, shapeStr, sub, table, width } from './term.js';

export type Activation = 'relu' | 'sigmoid' | 'tanh';
export type FloatDType = 'float32' | 'float64';

export interface DemoOptions {
  /** Rows of X (the batch). */
  n: number;
  /** Layer widths: [d, m] for one layer, [784, 512, 10] for a chain. */
  widths: number[];
  activation: Activation;
  /** The dtype of the timing run; checks are always float64 (finite differences need it). */
  dtype: FloatDType;
  seed: number;
  /** Timed runs (the median is reported); undefined picks enough for about two seconds, at least 3. */
  runs?: number;
  timing: boolean;
  verbose: boolean;
}

export const DEMO_DEFAULTS: DemoOptions = {
  n: 256,
  widths: [1024, 1024],
  activation: 'relu',
  dtype: 'float32',
  seed: 0,
  timing: true,
  verbose: false,
};

/**
 * Finite differences cost two forward passes per parameter element; the checks run at the requested size only while
 * that stays below this many multiply-adds (about a second on the js backend).
 */
export const FD_BUDGET = 2e7;
/** The teaching size: every dim differs, so every shape in a printed product is unambiguous. */
const TEACH_N = 4;
function teachWidths(layers: number): number[] {
  if (layers === 1) return [3, 2];
  return [3, ...Array.from({ length: layers - 1 }, (_, i) => 5 + i), 2];
}

/** Multiply-adds of one forward pass, and of the finite-difference check of every parameter element. */
function costs(n: number, widths: readonly number[]) {
  let macs = 0;
  let params = n * widths[0];
  for (let l = 1; l < widths.length; l++) {
    macs += n * widths[l - 1] * widths[l];
    params += widths[l - 1] * widths[l] + widths[l];
  }
  return { macs, params, fd: 2 * params * macs };
}

// ---------------------------------------------------------------------------------------------------------------
// The network: X → Linear → act → … → Linear → Y

interface Layer {
  W: ad.Tensor;
  b: ad.Tensor;
}
interface Names {
  W: string;
  b: string;
  /** The layer's input: X, then A₁, A₂, … */
  inp: string;
  /** The layer's output: Z₁, Z₂, … and Y for the last. */
  z: string;
  /** The activation's output, for every layer but the last. */
  a?: string;
}

function layerNames(layers: number): Names[] {
  return Array.from({ length: layers }, (_, l) => {
    const s = layers === 1 ? '' : sub(l + 1);
    const last = l === layers - 1;
    return {
      W: `W${s}`,
      b: `b${s}`,
      inp: l === 0 ? 'X' : `A${sub(l)}`,
      z: last ? 'Y' : `Z${s}`,
      a: last ? undefined : `A${s}`,
    };
  });
}

const ACTIVATIONS: Record<Activation, (z: ad.Tensor) => ad.Tensor> = {
  relu: (z) => z.relu(),
  sigmoid: (z) => z.sigmoid(),
  tanh: (z) => z.tanh(),
};

/** The activation's derivative as printed, and as computed explicitly from Z and A = act(Z). */
const DERIVATIVES: Record<
  Activation,
  { text: (z: string, a: string) => string; fn: (z: ad.Tensor, a: ad.Tensor) => ad.Tensor }
> = {
  relu: { text: (z) => `[${z} > 0]`, fn: (z) => z.gt(0).to(z.dtype) },
  sigmoid: { text: (_z, a) => `${a} ⊙ (1 − ${a})`, fn: (_z, a) => a.mul(ad.sub(1, a)) },
  tanh: { text: (_z, a) => `(1 − ${a}²)`, fn: (_z, a) => ad.sub(1, a.mul(a)) },
};

interface Trace {
  y: ad.Tensor;
  /** Per layer: the input it multiplied, the product H·W before the bias, and its output (Z or Y). */
  h: ad.Tensor[];
  hw: ad.Tensor[];
  z: ad.Tensor[];
  /** Activation outputs, one per layer but the last. */
  a: ad.Tensor[];
}

function forward(x: ad.Tensor, layers: readonly Layer[], act: Activation): Trace {
  const t: Trace = { y: x, h: [], hw: [], z: [], a: [] };
  let h = x;
  layers.forEach(({ W, b }, l) => {
    const hw = h.matmul(W);
    const z = hw.add(b);
    t.h.push(h);
    t.hw.push(hw);
    t.z.push(z);
    if (l < layers.length - 1) {
      h = ACTIVATIONS[act](z);
      t.a.push(h);
    } else t.y = z;
  });
  return t;
}

/** X, and per layer W ~ N(0, 1/fanIn) and b ~ N(0, 1/4), as leaves that require grad; U, the upstream gradient. */
function makeProblem(n: number, widths: readonly number[], dtype: FloatDType) {
  const X = ad.randn([n, widths[0]], { dtype }).requiresGrad_();
  const layers: Layer[] = [];
  for (let l = 1; l < widths.length; l++) {
    const W = ad
      .randn([widths[l - 1], widths[l]], { dtype })
      .mul(1 / Math.sqrt(widths[l - 1]))
      .requiresGrad_();
    const b = ad.randn([widths[l]], { dtype }).mul(0.5).requiresGrad_();
    layers.push({ W, b });
  }
  const U = ad.randn([n, widths[widths.length - 1]], { dtype });
  return { X, layers, U };
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers on the host, in float64

function values(t: ad.Tensor): Float64Array {
  return Float64Array.from(t.dataSync() as ArrayLike<number>);
}
function dot(a: ad.Tensor, b: ad.Tensor): number {
  const x = values(a);
  const y = values(b);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}
function maxAbsDiff(a: ad.Tensor, b: ad.Tensor): number {
  const x = values(a);
  const y = values(b);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}
function maxAbs(a: ad.Tensor): number {
  let m = 0;
  for (const v of values(a)) m = Math.max(m, Math.abs(v));
  return m;
}
function relError(a: number, b: number): number {
  const d = Math.abs(a - b);
  return d === 0 ? 0 : d / Math.max(Math.abs(a), Math.abs(b));
}

/** The garbage collector, for exact memory figures: --expose-gc's global, or the same switched on at run time. */
async function loadGc(): Promise<(() => void) | null> {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const fn = vm.runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    return null;
  }
}
/** Collects, then lets the FinalizationRegistry callbacks that memoryStats counts with run. */
async function collect(gc: (() => void) | null): Promise<void> {
  if (!gc) return;
  gc();
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 0));
}

// ---------------------------------------------------------------------------------------------------------------
// The demo

export type Print = (line?: string) => void;

class Checks {
  passed = 0;
  failed: string[] = [];
  constructor(private readonly style: Style) {}
  /** Records a check and returns its mark. */
  mark(name: string, ok: boolean): string {
    if (ok) this.passed++;
    else this.failed.push(name);
    return this.style.mark(ok);
  }
}

/** What every section reads: the options, the output, the checked problem (float64) and its forward trace. */
interface Ctx {
  o: DemoOptions;
  print: Print;
  style: Style;
  checks: Checks;
  /** Number of layers; one is the plain Rosetta stone. */
  L: number;
  single: boolean;
  names: Names[];
  /** The rows of the checked problem. */
  cn: number;
  X: ad.Tensor;
  layers: Layer[];
  U: ad.Tensor;
  tr: Trace;
  /** [name, leaf] for X and every W and b, in the order f takes them. */
  leaves: [string, ad.Tensor][];
  /** The network as a function of the leaves, for gradcheck and adjointCheck. */
  net: (...ts: ad.Tensor[]) => ad.Tensor;
}

const heading = (c: Ctx, s: string) => c.print(c.style.bold(s));
const note = (c: Ctx, s: string) => c.print(c.style.dim(s));
const rows = (c: Ctx, rs: string[][]) => table(rs).forEach((l) => c.print(l));
const shapeOf = (t: ad.Tensor) => shapeStr(t.shape);

/** Runs the demo, printing as it goes; resolves to true when every check passed. */
export async function runDemo(o: DemoOptions, print: Print, style: Style): Promise<boolean> {
  const L = o.widths.length - 1;
  const single = L === 1;
  const names = layerNames(L);
  // The checks run where finite differences are affordable, the timing at the requested size.
  const requested = costs(o.n, o.widths);
  const atRequested = requested.fd <= FD_BUDGET;
  const cn = atRequested ? o.n : TEACH_N;
  const cw = atRequested ? o.widths : teachWidths(L);

  ad.manualSeed(o.seed);
  const { X, layers, U } = makeProblem(cn, cw, 'float64');
  const net = (...ts: ad.Tensor[]) => {
    const ls = layers.map((_, l) => ({ W: ts[1 + 2 * l], b: ts[2 + 2 * l] }));
    return forward(ts[0], ls, o.activation).y;
  };
  const c: Ctx = {
    o,
    print,
    style,
    checks: new Checks(style),
    L,
    single,
    names,
    cn,
    X,
    layers,
    U,
    tr: forward(X, layers, o.activation),
    leaves: [
      ['X', X],
      ...layers.flatMap((ly, l): [string, ad.Tensor][] => [
        [names[l].W, ly.W],
        [names[l].b, ly.b],
      ]),
    ],
    net,
  };

  header(c, requested, atRequested, cw);
  forwardSection(c);
  backwardSection(c);
  finiteDifferences(c);
  adjointSection(c);
  if (o.timing) {
    await timing(c);
    profileSection(c);
  }

  const { passed, failed } = c.checks;
  print();
  if (failed.length === 0) print(`${style.mark(true)} ${style.bold(`All ${passed} checks passed.`)}`);
  else
    print(
      `${style.mark(false)} ${style.bold(`${failed.length} of ${passed + failed.length} checks failed:`)} ${failed.join('; ')}`,
    );
  note(
    c,
    '  Modify it: --n 64 --d 128 --m 32 · --layers 784,512,10 --activation tanh · --dtype float64 · --seed 7 · --help',
  );
  print();
  return failed.length === 0;
}

function header(c: Ctx, requested: ReturnType<typeof costs>, atRequested: boolean, cw: readonly number[]): void {
  const { o, L, single, print } = c;
  const sizeText = (n: number, w: readonly number[]) =>
    single ? `n=${n}  d=${w[0]}  m=${w[1]}` : `n=${n}  widths ${w.join('→')}`;
  print();
  if (single) {
    heading(c, 'adjoint demo · backprop through Y = X·W + b, the Rosetta stone');
    print('  The forward multiplies by W; the backward multiplies by Wᵀ:   dX = dY·Wᵀ,   dW = Xᵀ·dY.');
    print(
      '  The bias is broadcast over rows going forward, so its gradient sums over rows coming back:   db = Σᵢ dYᵢ.',
    );
  } else {
    heading(
      c,
      `adjoint demo · backprop through ${L} Linear layers, ${o.widths.join(' → ')}, with ${o.activation} between them`,
    );
    print('  Each layer is the Rosetta stone Z = H·W + b: backward multiplies by Wᵀ (dH = dZ·Wᵀ, dW = Hᵀ·dZ) and');
    print('  sums the bias over rows (db = Σᵢ dZᵢ). The chain rule composes these adjoints in reverse order.');
  }
  print();
  rows(c, [
    ['checks', sizeText(c.cn, cw), 'float64', atRequested ? 'the requested size' : 'a teaching size'],
    ...(o.timing ? [['timing', sizeText(o.n, o.widths), o.dtype, 'the requested size']] : []),
  ]);
  if (!atRequested) {
    note(
      c,
      `  Finite differences take 2 forward passes per parameter element: ${count(2 * requested.params)} passes ` +
        `(${sci(requested.fd)} multiply-adds)`,
    );
    note(c, '  at the requested size, so the checks run at a teaching size where every dim differs and each printed');
    note(
      c,
      `  product's shapes are unambiguous. The identities hold at any size${o.timing ? '; the timing section checks one there' : ''}.`,
    );
  }
  note(c, `  seed ${o.seed} · ${ad.describeBackend()} backend · node ${process.version}`);
}

function forwardSection(c: Ctx): void {
  const { o, names, single, layers, tr, X, U, cn, print } = c;
  print();
  heading(
    c,
    `1. Forward   ${single ? 'Y = X·W + b' : names.map((nm) => `${nm.z} = ${nm.inp}·${nm.W} + ${nm.b}`).join(', ')}`,
  );
  const roles: string[][] = [['X', shapeOf(X), `input: n=${cn} rows of ${X.shape[1]} features`]];
  layers.forEach(({ W, b }, l) => {
    const nm = names[l];
    const what = `weight${single ? '' : ` of layer ${l + 1}`}: ${W.shape[0]} in, ${W.shape[1]} out`;
    roles.push([nm.W, shapeOf(W), what]);
    roles.push([nm.b, shapeOf(b), `bias, broadcast over the ${cn} rows`]);
  });
  roles.push(['U', shapeOf(U), 'random: the loss is L = Σ U ⊙ Y, so the upstream gradient dY = ∂L/∂Y = U']);
  rows(c, roles);
  print();
  const eqs: string[][] = [];
  layers.forEach(({ W, b }, l) => {
    const nm = names[l];
    const shapes = `${shapeOf(tr.h[l])}·${shapeOf(W)} + ${shapeOf(b)} → ${shapeOf(tr.z[l])}`;
    eqs.push([`${nm.z} = ${nm.inp} · ${nm.W} + ${nm.b}`, shapes]);
    if (nm.a) eqs.push([`${nm.a} = ${o.activation}(${nm.z})`, shapeOf(tr.a[l])]);
  });
  rows(c, eqs);
  if (o.verbose) {
    print();
    const shown: [string, ad.Tensor][] = [...c.leaves, ['Y', tr.y], ['U', U]];
    for (const [name, t] of shown) {
      const lead = `  ${name} = `;
      print(
        lead +
          t
            .detach()
            .toString()
            .replace(/\n/g, `\n${' '.repeat(width(lead))}`),
      );
    }
  }
}

function backwardSection(c: Ctx): void {
  const { o, L, names, single, layers, tr, X, U, cn, checks, style } = c;
  for (const z of tr.z) z.retainGrad();
  for (const a of tr.a) a.retainGrad();
  const loss = tr.y.mul(U).sum();
  note(c, `  L = Σ U ⊙ Y = ${full(loss.item())}`);
  loss.backward();
  c.print();
  heading(c, '2. Backward  L.backward(), then the same gradients as explicit products');
  const out: string[][] = [];
  const compare = (label: string, explicit: ad.Tensor, auto: ad.Tensor | null, autoName: string, shapes: string) => {
    const diff = auto ? maxAbsDiff(explicit, auto) : Number.NaN;
    // The same products in the same order: equal up to rounding in the last place.
    const ok = auto !== null && diff <= 1e-12 * Math.max(1, maxAbs(explicit));
    const mark = checks.mark(`${autoName} = ${label}`, ok);
    out.push([label, shapes, `${mark} = ${autoName}`, style.dim(`max |Δ| ${sci(diff)}`)]);
  };
  ad.noGrad(() => {
    compare('dY = ∂L/∂Y = U', U, tr.y.grad, 'Y.grad', shapeOf(U));
    let g = U; // the gradient reaching the current layer's output, computed here without autograd
    for (let l = L - 1; l >= 0; l--) {
      const nm = names[l];
      const W = layers[l].W.detach();
      const H = tr.h[l].detach();
      const dz = `d${nm.z}`;
      if (nm.a) {
        const Z = tr.z[l].detach();
        const d = DERIVATIVES[o.activation];
        const gz = g.mul(d.fn(Z, tr.a[l].detach()));
        const label = `${dz} = d${nm.a} ⊙ ${d.text(nm.z, nm.a)}`;
        compare(label, gz, tr.z[l].grad, `${nm.z}.grad`, `${shapeOf(g)}⊙${shapeOf(Z)} → ${shapeOf(gz)}`);
        g = gz;
      }
      const dH = g.matmul(W.T);
      const dW = H.T.matmul(g);
      const db = g.sum(0);
      const inGrad = l === 0 ? X.grad : tr.a[l - 1].grad;
      compare(
        `d${nm.inp} = ${dz} · ${nm.W}ᵀ`,
        dH,
        inGrad,
        `${nm.inp}.grad`,
        `${shapeOf(g)}·${shapeOf(W.T)} → ${shapeOf(dH)}`,
      );
      compare(
        `d${nm.W} = ${nm.inp}ᵀ · ${dz}`,
        dW,
        layers[l].W.grad,
        `${nm.W}.grad`,
        `${shapeOf(H.T)}·${shapeOf(g)} → ${shapeOf(dW)}`,
      );
      compare(
        `d${nm.b} = Σᵢ ${dz}ᵢ`,
        db,
        layers[l].b.grad,
        `${nm.b}.grad`,
        `Σ over ${cn} rows of ${shapeOf(g)} → ${shapeOf(db)}`,
      );
      g = dH;
    }
  });
  rows(c, out);
  if (single) {
    note(
      c,
      '  Forward multiplied by W, backward by Wᵀ; the bias that was copied to every row collects a sum over rows.',
    );
    return;
  }
  // The composed adjoint of the whole chain, from the same pieces as the lines above (· binds tighter than ⊙).
  let e = 'dY';
  for (let l = L - 1; l >= 0; l--) {
    e = e.includes('⊙') ? `(${e})·${names[l].W}ᵀ` : `${e}·${names[l].W}ᵀ`;
    const a = names[l - 1]?.a;
    if (a) e = `${e} ⊙ ${DERIVATIVES[o.activation].text(names[l - 1].z, a)}`;
  }
  note(c, "  Top to bottom is the chain rule: each line applies one adjoint (·Wᵀ, or ⊙ the activation's derivative)");
  note(c, `  to the gradient above it, the forward's steps transposed and in reverse order:  dX = ${e}`);
}

/** Central differences of L = Σ U ⊙ Y for every element of every leaf, against autograd's .grad; then ad.gradcheck. */
function finiteDifferences(c: Ctx): void {
  const { o, layers, leaves, U, tr, checks } = c;
  const eps = 1e-6;
  c.print();
  heading(
    c,
    `3. Finite differences  (L(p + ε) − L(p − ε)) / 2ε for every element of every parameter, float64, ε = ${eps.toExponential()}`,
  );
  const lossAt = (ts: ad.Tensor[]) =>
    ad.noGrad(() => {
      const ls = layers.map((_, l) => ({ W: ts[1 + 2 * l], b: ts[2 + 2 * l] }));
      return forward(ts[0], ls, o.activation).y.mul(U).sum().item();
    });
  const base = leaves.map(([, t]) => t.detach());
  const out: string[][] = leaves.map(([name, t], j) => {
    const v = values(t);
    const g = values(t.grad!);
    let worst = 0;
    let ok = true;
    for (let e = 0; e < v.length; e++) {
      const at = (delta: number) => {
        const d = v.slice();
        d[e] += delta;
        const ts = base.slice();
        ts[j] = ad.tensor(d, { dtype: 'float64', shape: t.shape.slice() });
        return lossAt(ts);
      };
      const num = (at(eps) - at(-eps)) / (2 * eps);
      const err = Math.abs(num - g[e]);
      worst = Math.max(worst, err);
      // gradcheck's default tolerance.
      if (!(err <= 1e-5 + 1e-3 * Math.abs(num))) ok = false;
    }
    const mark = checks.mark(`finite differences d${name}`, ok);
    return [`d${name}`, `${count(v.length)} elements`, `max abs error ${sci(worst)}`, mark];
  });
  const inputs = leaves.map(([n]) => n).join(', ');
  const gc = ad.gradcheck(
    c.net,
    leaves.map(([, t]) => t),
  );
  out.push([
    `ad.gradcheck(f, [${inputs}])`,
    `the whole ${shapeOf(tr.y)} Jacobian`,
    `max abs error ${sci(gc.maxAbsError)}`,
    checks.mark('ad.gradcheck', gc.ok),
  ]);
  // The library call is a different kind of row: give it its own alignment.
  rows(c, out.slice(0, -1));
  rows(c, out.slice(-1));
}

function adjointSection(c: Ctx): void {
  const { names, single, layers, tr, leaves, checks } = c;
  c.print();
  heading(
    c,
    single
      ? '4. The adjoint identity  ⟨X·W, U⟩ = ⟨X, U·Wᵀ⟩ = ⟨W, Xᵀ·U⟩'
      : '4. The adjoint identity  ⟨H·W, G⟩ = ⟨H, G·Wᵀ⟩ = ⟨W, Hᵀ·G⟩, per layer',
  );
  note(
    c,
    single
      ? '  Backward is the transpose of forward: the map X ↦ X·W has adjoint U ↦ U·Wᵀ, and W ↦ X·W has U ↦ Xᵀ·U.'
      : '  With G the gradient that reached each layer: the map H ↦ H·W has adjoint G ↦ G·Wᵀ, and W ↦ H·W has G ↦ Hᵀ·G.',
  );
  const out: string[][] = [];
  ad.noGrad(() => {
    layers.forEach((ly, l) => {
      const nm = names[l];
      const H = tr.h[l].detach();
      const W = ly.W.detach();
      // The gradient that reached this layer's output (checked against the explicit products in section 2).
      const G = tr.z[l].grad!;
      const gName = single ? 'U' : `d${nm.z}`;
      const lhs = dot(H.matmul(W), G);
      const viaX = dot(H, G.matmul(W.T));
      const viaW = dot(W, H.T.matmul(G));
      const side = (label: string, v: number, what: string) => [
        label,
        full(v),
        `rel error ${sci(relError(lhs, v))}`,
        checks.mark(what, relError(lhs, v) <= 1e-12),
      ];
      out.push([`⟨${nm.inp}·${nm.W}, ${gName}⟩`, full(lhs), '', '']);
      out.push(side(`⟨${nm.inp}, ${gName}·${nm.W}ᵀ⟩`, viaX, `adjoint of ${nm.inp} ↦ ${nm.inp}·${nm.W}`));
      out.push(side(`⟨${nm.W}, ${nm.inp}ᵀ·${gName}⟩`, viaW, `adjoint of ${nm.W} ↦ ${nm.inp}·${nm.W}`));
    });
  });
  rows(c, out);
  const adj = ad.adjointCheck(
    c.net,
    leaves.map(([, t]) => t),
  );
  rows(c, [
    [
      `ad.adjointCheck(f, [${leaves.map(([n]) => n).join(', ')}])`,
      `⟨J·u, v⟩ = ${full(adj.jvpSide)}   ⟨u, Jᵀ·v⟩ = ${full(adj.vjpSide)}`,
      `rel error ${sci(adj.relError)}`,
      checks.mark('ad.adjointCheck', adj.ok),
    ],
  ]);
  note(
    c,
    '  (J·u by forward mode through every JVP rule, Jᵀ·v by reverse mode through every VJP rule, u and v random.)',
  );
}

/** Forward against backward at the requested size and dtype, the identity there, and the peak memory. */
async function timing(c: Ctx): Promise<void> {
  const { o, L, single, names, checks, style, print } = c;
  const { macs } = costs(o.n, o.widths);
  print();
  const size = single ? `n=${o.n} d=${o.widths[0]} m=${o.widths[1]}` : `n=${o.n}, ${o.widths.join('→')}`;
  heading(c, `5. Timing  ${size}, ${o.dtype}, ${ad.getBackend()} backend`);
  const gc = await loadGc();
  ad.trackMemory(true);
  try {
    await collect(gc);
    ad.manualSeed(o.seed + 1);
    const { X, layers, U } = makeProblem(o.n, o.widths, o.dtype);
    const leaves = [X, ...layers.flatMap((ly) => [ly.W, ly.b])];
    const run = () => {
      for (const t of leaves) t.grad = null;
      const t0 = performance.now();
      const tr = forward(X, layers, o.activation);
      const t1 = performance.now();
      if (!single) tr.h[L - 1].retainGrad();
      tr.y.backward(U);
      const t2 = performance.now();
      return { fwd: t1 - t0, bwd: t2 - t1, tr };
    };

    // The warm-up pass also measures memory: everything else was collected first, so the peak is this pass's.
    await collect(gc);
    // After gc() and a turn of the event loop every collected storage has been reported: the bound is exact here.
    const inputBytes = ad.memoryStats().liveBytesUpperBound;
    ad.resetPeakMemory();
    const warmMs = ((w) => w.fwd + w.bwd)(run()); // keeps no reference to the pass's tensors
    const peak = ad.memoryStats().peakBytesUpperBound;
    const runs = o.runs ?? Math.min(50, Math.max(3, Math.ceil(2000 / warmMs)));
    const fwd: number[] = [];
    const bwd: number[] = [];
    let last: ReturnType<typeof run> | null = null;
    for (let r = 0; r < runs; r++) {
      last = null; // drop the previous pass's tensors before collecting
      await collect(gc);
      last = run();
      fwd.push(last.fwd);
      bwd.push(last.bwd);
    }
    note(c, `  1 warm-up pass, then the median of ${runs} timed passes (--runs)`);
    const f = median(fwd);
    const b = median(bwd);
    const gflops = (flops: number, t: number) => style.dim(`${((flops / t) * 1e-6).toPrecision(3)} GFLOP/s`);
    const ratioNote =
      macs >= 1e7
        ? 'about 2 expected: two matmuls back for each one forward'
        : 'at this size per-op overhead, not arithmetic, sets the time';
    rows(c, [
      ['forward', single ? 'Y = X·W + b' : `${L} layers`, ms(f), gflops(2 * macs, f)],
      [
        'backward',
        single ? 'dX = dY·Wᵀ, dW = Xᵀ·dY, db = Σᵢ dYᵢ' : 'every dH, dW, db, in reverse order',
        ms(b),
        gflops(4 * macs, b),
      ],
      ['backward / forward', '', `${(b / f).toFixed(2)}×`, style.dim(ratioNote)],
    ]);

    // The identity at full size and dtype, from the last pass: H·W and dH = U·Wᵀ were computed anyway.
    const nm = names[L - 1];
    const tr = last!.tr;
    const H = tr.h[L - 1];
    const lhs = dot(tr.hw[L - 1], U);
    const rhs = dot(H, H.grad!);
    const tolerance = o.dtype === 'float32' ? 1e-4 : 1e-10;
    const rel = relError(lhs, rhs);
    print();
    note(
      c,
      `  The adjoint identity at this size and dtype (${nm.inp}·${nm.W} and d${nm.inp} = U·${nm.W}ᵀ come from the last timed pass):`,
    );
    const mark = checks.mark('adjoint identity at the timing size', rel <= tolerance);
    rows(c, [
      [`⟨${nm.inp}·${nm.W}, U⟩`, full(lhs), '', ''],
      [
        `⟨${nm.inp}, U·${nm.W}ᵀ⟩ = ⟨${nm.inp}, d${nm.inp}⟩`,
        full(rhs),
        `rel error ${sci(rel)}`,
        `${mark} ${style.dim(`(${o.dtype}: ≤ ${sci(tolerance)})`)}`,
      ],
    ]);

    print();
    const parts = style.dim(
      `= ${bytes(inputBytes)} inputs (X, ${single ? 'W, b' : 'Ws, bs'}, U) + ${bytes(peak - inputBytes)} allocated by one forward + backward`,
    );
    rows(c, [['peak memory held by tensors, at most', bytes(peak), parts]]);
    const made = single ? 'X·W, Y' : 'every H·W, Z, A';
    const lines = [
      '  Measured with ad.trackMemory(true) and ad.memoryStats(): a storage counts from its allocation until the garbage',
      '  collector reports it freed, which it does only between turns of the event loop. ' +
        (gc ? 'gc() ran before the pass, which is' : 'No gc() was available, so'),
      gc
        ? `  synchronous, so this is the inputs plus every storage the pass allocated (${made}, the gradients and the`
        : '  garbage from earlier work may be included: at most the inputs plus every storage the pass allocated.',
    ];
    if (gc)
      lines.push(
        '  temporaries that made them): an upper bound on its peak, as temporaries freed during the pass still count.',
      );
    for (const l of lines) note(c, l);
  } finally {
    ad.trackMemory(false);
  }
}

/** A square matmul's side for the GEMM peak: 1024, or 256 on the reference backend (seconds otherwise). */
const peakSide = () => (ad.getBackend() === 'js' ? 256 : 1024);

/** GFLOP/s of a square matmul on the active backend, best of 3 after a warm-up: the peak the profile compares to. */
function gemmPeak(dtype: FloatDType): number {
  const k = peakSide();
  const a = ad.randn([k, k], { dtype });
  const b = ad.randn([k, k], { dtype });
  let best = Infinity;
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    a.matmul(b).dataSync();
    const t = performance.now() - t0;
    if (i > 0) best = Math.min(best, t);
  }
  return (2 * k ** 3) / best / 1e6;
}

/** One forward + backward of the problem, profiled with memory; n rows. */
function profiledPass(c: Ctx, n: number): ad.Profile {
  const { o } = c;
  ad.manualSeed(o.seed + 2);
  const { X, layers, U } = makeProblem(n, o.widths, o.dtype);
  const pass = () => forward(X, layers, o.activation).y.backward(U);
  if (ad.getBackend() !== 'js') pass(); // warm-up (the reference backend has nothing to warm)
  for (const t of [X, ...layers.flatMap((ly) => [ly.W, ly.b])]) t.grad = null;
  return ad.profile(pass, { memory: true });
}

const gflop = (f: number) => (f >= 1e8 ? `${(f / 1e9).toPrecision(3)} G` : `${(f / 1e6).toPrecision(3)} M`);
const sumRows = (rs: ad.KeyAverage[], f: (r: ad.KeyAverage) => number) => rs.reduce((s, r) => s + f(r), 0);

/** Section 6: the same pass seen by ad.profile, op by op, and on every backend side by side. */
function profileSection(c: Ctx): void {
  const { o, single, print, style } = c;
  const { macs } = costs(o.n, o.widths);
  print();
  const size = single ? `n=${o.n} d=${o.widths[0]} m=${o.widths[1]}` : `n=${o.n}, ${o.widths.join('→')}`;
  heading(
    c,
    `6. Profile it  ad.profile(() => forward(X).backward(U)), ${size}, ${o.dtype}, ${ad.getBackend()} backend`,
  );
  const peak = gemmPeak(o.dtype);
  const prof = profiledPass(c, o.n);
  const rs = prof.keyAverages().sort((a, b) => b.totalMs - a.totalMs);
  const pct = (g: number | null) => (g === null ? '' : style.dim(`${Math.round((100 * g) / peak)}% of GEMM peak`));
  rows(c, [
    ['op', 'calls', 'forward', 'backward', 'FLOPs', 'GFLOP/s', ''],
    ...rs
      .filter((r) => r.key !== 'AccumulateGrad')
      .map((r) => [
        r.key,
        `${r.calls}/${r.backwardCalls}`,
        ms(r.forwardMs),
        r.backwardCalls ? ms(r.backwardMs) : '-',
        gflop(r.forwardFlops + r.backwardFlops),
        r.gflops === null ? '-' : r.gflops.toPrecision(3),
        r.key === 'matmul' ? pct(r.gflops) : '',
      ]),
  ]);
  const fwd = sumRows(rs, (r) => r.forwardMs);
  const bwd = sumRows(rs, (r) => r.backwardMs);
  const mem = prof.peakBytes!;
  note(
    c,
    `  calls a/b: a forward calls, b backward nodes; each node's time goes to the op that recorded it.\n` +
      `  Forward ${ms(fwd)}, backward ${ms(bwd)} (${(bwd / fwd).toFixed(2)}×: matmul's backward is two matmuls). ` +
      `GEMM peak: a ${peakSide()}³ matmul here, ${peak.toPrecision(3)} GFLOP/s.\n` +
      `  Storage the pass allocated: ${bytes(mem.all)} (activations ${bytes(mem.atPeak.activations)}, gradients ` +
      `${bytes(mem.atPeak.gradients)}).`,
  );

  // The seed's "compare CPU vs GPU": the same pass on every backend registered here (a GPU one too, once it lands).
  const names = ad.backendNames();
  if (names.length > 1) {
    const perRow = macs / o.n;
    // Small enough that the reference backend (~0.6 GFLOP/s) takes about a second: forward + backward is 3 matmuls.
    const n = Math.min(o.n, 2 ** Math.max(0, Math.floor(Math.log2(6e8 / (6 * perRow)))));
    const was = ad.getBackend();
    const line: string[][] = [['backend', 'forward', 'backward', 'matmul GFLOP/s', '']];
    try {
      for (const name of names) {
        ad.setBackend(name);
        const p = profiledPass(c, n);
        const r = p.keyAverages();
        const mm = r.find((x) => x.key === 'matmul');
        line.push([
          name,
          ms(sumRows(r, (x) => x.forwardMs)),
          ms(sumRows(r, (x) => x.backwardMs)),
          mm?.gflops ? mm.gflops.toPrecision(3) : '-',
          style.dim(ad.describeBackend(name)),
        ]);
      }
    } finally {
      ad.setBackend(was);
    }
    print();
    note(
      c,
      `  The same pass on each backend here, n=${n}${n < o.n ? ' (smaller, so the reference backend is quick)' : ''}:`,
    );
    rows(c, line);
  }
  note(
    c,
    "  A model's training step by op and by module, with a Perfetto trace: adjoint profile --model cnn --trace step.json",
  );
}
