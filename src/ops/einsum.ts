/**
 * @file einsum: an equation parser and a plan built from existing ops, so gradients, JVPs and higher derivatives
 * come from those ops. Each operand first has its repeated subscripts taken as a diagonal (a strided view, whose
 * adjoint writes into zeros) and the subscripts it alone carries summed out; then the operands are contracted left
 * to right, each pair as one matmul over the shared subscripts (batch subscripts as matmul's batch dims) or, when
 * nothing is contracted, a broadcast mul; finally the result is permuted to the output's order. Subscripts of size 1
 * and the dims under '...' broadcast, as in PyTorch.
 */
import { array, checked, str, tensor, union } from '../core/args.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { contiguousStrides, numel } from '../core/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { apply, defineOp, type OpDef, shapeText } from './define.js';
import { mul } from './elementwise.js';
import { matmul } from './linalg.js';
import { sum } from './reduce.js';
import { testedOp } from './registry.js';
import { permute, reshape, squeeze, unsqueeze } from './shape.js';

// ----- diagonal: the view for a repeated subscript -------------------------------------------------------------

interface DiagonalParams {
  /** The dims that share one subscript (ascending, equal sizes); they become one dim at dims[0]. */
  dims: number[];
  inShape: number[];
}

/** The strides of the merged view over strides `s`: dims[0] steps along every merged dim at once. */
function mergedStrides(s: readonly number[], dims: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (i === dims[0]) out.push(dims.reduce((a, d) => a + s[d], 0));
    else if (!dims.includes(i)) out.push(s[i]);
  }
  return out;
}

const dropMerged = (shape: readonly number[], dims: readonly number[]) =>
  shape.filter((_s, i) => i === dims[0] || !dims.includes(i));

// A view (no copy): x[..., i, ..., i, ...] for every i is x with the merged dims' strides summed.
const diagonalOp: OpDef<DiagonalParams> = defineOp<DiagonalParams>({
  name: 'diagonal',
  infer: ([x], p) => ({ shape: dropMerged(x.shape, p.dims), dtype: x.dtype }),
  view: (x, p) => ({ strides: mergedStrides(x._strides, p.dims), offset: x._offset }),
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => [apply(diagonalBackwardOp, [g], c.params)],
  flops: () => 0,
  explain: ({ dy, outShape }) => [{ rhs: `zeros with ${dy} on the diagonal`, shapes: shapeText(outShape) }],
});

/** The adjoint of diagonal: g written onto the diagonal of zeros of the input's shape. */
const diagonalBackwardOp: OpDef<DiagonalParams> = defineOp<DiagonalParams>({
  name: 'diagonalBackward',
  infer: ([g], p) => ({ shape: p.inShape, dtype: g.dtype }),
  forward: (k, out, [g], p) => {
    const strides = mergedStrides(contiguousStrides(p.inShape), p.dims);
    k.copy({ buf: out._storage.buf, dtype: out.dtype, shape: g.shape, strides, offset: 0 }, g._view());
  },
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => [apply(diagonalOp, [g], c.params)],
  flops: () => 0,
  explain: ({ dy, outShape }) => [{ rhs: `diagonal(${dy})`, shapes: shapeText(outShape) }],
});

// ----- parsing -------------------------------------------------------------------------------------------------

/**
 * A subscript: a letter's char code, or ELLIPSIS + j for dim j of the broadcast dims under '...' (right-aligned
 * across operands, as broadcasting aligns them).
 */
type Label = number;
const ELLIPSIS = 1000;

const isLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const labelText = (l: Label) => (l >= ELLIPSIS ? '...' : String.fromCharCode(l));

interface Parsed {
  /** Each operand's subscripts, one per dim (ellipsis dims expanded). */
  inputs: Label[][];
  output: Label[];
  /** Each subscript's size after broadcasting. */
  sizes: Map<Label, number>;
}

/** One side's terms as written: letters and where '...' sits (-1 for none). */
interface Term {
  letters: string[];
  ellipsisAt: number;
}

function parse(eq: string, shapes: readonly (readonly number[])[]): Parsed {
  const at = `equation '${eq}', operand shapes ${shapes.map((s) => fmtShape(s)).join(', ')}`;
  // A malformed equation is a ValueError; an equation the operands' shapes do not fit, a ShapeError.
  const fail = (msg: string): never => {
    throw new ValueError(`einsum: ${msg} (${at})`);
  };
  const failShape = (msg: string): never => {
    throw new ShapeError(`einsum: ${msg} (${at})`);
  };
  const arrow = eq.indexOf('->');
  const lhs = arrow < 0 ? eq : eq.slice(0, arrow);
  const rhs = arrow < 0 ? null : eq.slice(arrow + 2);

  // Scans one side into terms; `base` is where the side starts in eq, for the messages' indices.
  const scan = (side: string, base: number, what: (t: number) => string, allowComma: boolean): Term[] => {
    const terms: Term[] = [{ letters: [], ellipsisAt: -1 }];
    for (let i = 0; i < side.length; i++) {
      const c = side[i];
      const term = terms[terms.length - 1];
      if (c === ' ') continue;
      if (c === ',' && allowComma) terms.push({ letters: [], ellipsisAt: -1 });
      else if (isLetter(c)) term.letters.push(c);
      else if (c === '.') {
        if (side.slice(i, i + 3) !== '...')
          fail(`found '.' at index ${base + i} for ${what(terms.length - 1)} that is not part of an ellipsis (...)`);
        if (term.ellipsisAt >= 0)
          fail(`${what(terms.length - 1)} has a second ellipsis at index ${base + i}; give at most one '...' per term`);
        term.ellipsisAt = term.letters.length;
        i += 2;
      } else
        fail(
          `invalid subscript '${c}' at index ${base + i} in the equation; subscripts must be letters in [a-zA-Z]` +
            (c === '-' || c === '>' ? ", with one '->' before the output" : ''),
        );
    }
    return terms;
  };

  const terms = scan(lhs, 0, (t) => `operand ${t}`, true);
  if (terms.length !== shapes.length)
    fail(
      `the equation has ${terms.length} input term${terms.length === 1 ? '' : 's'} but ${shapes.length} ` +
        `operand${shapes.length === 1 ? ' was' : 's were'} given; give one comma-separated term per operand`,
    );

  // The dims under each operand's '...', and the broadcast rank they share.
  const covered = terms.map((t, i) => {
    const n = shapes[i].length;
    const k = t.letters.length;
    if (t.ellipsisAt < 0 && k !== n)
      failShape(
        `operand ${i} has ${n} dim${n === 1 ? '' : 's'} but its term '${t.letters.join('')}' has ${k} ` +
          `subscript${k === 1 ? '' : 's'} and no ellipsis; give one subscript per dim, or '...' for the rest`,
      );
    if (t.ellipsisAt >= 0 && k > n)
      failShape(`operand ${i} has ${n} dim${n === 1 ? '' : 's'} but its term has ${k} subscripts besides the ellipsis`);
    return t.ellipsisAt < 0 ? 0 : n - k;
  });
  const rank = Math.max(0, ...covered);
  const inputs: Label[][] = terms.map((t, i) => {
    const ls: Label[] = t.letters.map((c) => c.charCodeAt(0));
    if (t.ellipsisAt >= 0) {
      const ell = Array.from({ length: covered[i] }, (_v, j) => ELLIPSIS + rank - covered[i] + j);
      ls.splice(t.ellipsisAt, 0, ...ell);
    }
    return ls;
  });

  // Sizes: a repeated subscript within an operand must match exactly (it is a diagonal); across operands, size 1
  // broadcasts.
  const sizes = new Map<Label, number>();
  inputs.forEach((ls, i) => {
    const own = new Map<Label, number>();
    ls.forEach((l, d) => {
      const n = shapes[i][d];
      const mine = own.get(l);
      if (mine !== undefined && mine !== n)
        failShape(
          `subscript ${labelText(l)} is repeated for operand ${i} but the sizes don't match, ${mine} != ${n}; a ` +
            'repeated subscript takes a diagonal, which needs equal sizes',
        );
      own.set(l, n);
    });
    for (const [l, n] of own) {
      const seen = sizes.get(l);
      if (seen === undefined || seen === 1) sizes.set(l, n);
      else if (n !== 1 && n !== seen)
        failShape(
          l >= ELLIPSIS
            ? `dim ${l - ELLIPSIS} covered by the ellipsis in operand ${i} has size ${n}, which does not broadcast ` +
                `with the size ${seen} seen before for that dim`
            : `subscript ${labelText(l)} has size ${n} for operand ${i}, which does not broadcast with the size ` +
                `${seen} seen before; sizes of one subscript must match (or be 1)`,
        );
    }
  });

  let output: Label[];
  if (rhs === null) {
    // Implicit output: the broadcast dims, then the subscripts used exactly once, in alphabetical order.
    const count = new Map<Label, number>();
    for (const ls of inputs) for (const l of ls) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count.entries()]
      .filter(([l, n]) => n === 1 && l < ELLIPSIS)
      .map(([l]) => l)
      .sort((a, b) => a - b);
    output = [...Array.from({ length: rank }, (_v, j) => ELLIPSIS + j), ...once];
  } else {
    const [t] = scan(rhs, arrow + 2, () => 'the output', false);
    output = [];
    t.letters.forEach((c, j) => {
      if (j === t.ellipsisAt) output.push(...Array.from({ length: rank }, (_v, e) => ELLIPSIS + e));
      const l = c.charCodeAt(0);
      if (!sizes.has(l)) fail(`output subscript ${c} does not appear in the equation for any input operand`);
      if (output.includes(l)) fail(`output subscript ${c} appears more than once in the output`);
      output.push(l);
    });
    if (t.ellipsisAt === t.letters.length) output.push(...Array.from({ length: rank }, (_v, e) => ELLIPSIS + e));
  }
  return { inputs, output, sizes };
}

// ----- the plan ------------------------------------------------------------------------------------------------

/** A partial result and the subscript of each of its dims. */
interface Part {
  t: Tensor;
  ls: Label[];
}

/** One operand with its repeated subscripts taken as diagonals, so each of its subscripts is one dim. */
function diagonals(t: Tensor, ls: Label[]): Part {
  for (;;) {
    const d = ls.findIndex((l, i) => ls.indexOf(l) !== i);
    if (d < 0) return { t, ls };
    const l = ls[d];
    const dims = ls.flatMap((m, i) => (m === l ? [i] : []));
    t = apply(diagonalOp, [t], { dims, inShape: t.shape.slice() });
    ls = ls.filter((m, i) => m !== l || i === dims[0]);
  }
}

/** Sums out the dims whose subscripts are not in `keep`. */
function sumOut(p: Part, keep: ReadonlySet<Label>): Part {
  const dims = p.ls.flatMap((l, i) => (keep.has(l) ? [] : [i]));
  if (!dims.length) return p;
  return { t: sum(p.t, dims), ls: p.ls.filter((l) => keep.has(l)) };
}

/** p's dims in the order `order` (a subset-free permutation of p.ls), then size-1 dims for `extra`. */
function arrange(p: Part, order: readonly Label[]): Tensor {
  const perm = order.filter((l) => p.ls.includes(l)).map((l) => p.ls.indexOf(l));
  let t = perm.some((d, i) => d !== i) ? permute(p.t, perm) : p.t;
  order.forEach((l, i) => {
    if (!p.ls.includes(l)) t = unsqueeze(t, i);
  });
  return t;
}

/** A · B summed over their shared subscripts that `keep` does not hold. */
function contract(a: Part, b: Part, keep: ReadonlySet<Label>): Part {
  let shared = a.ls.filter((l) => b.ls.includes(l));
  // A contracted subscript of size 1 on one side broadcasts: sum the other side over it first, drop it from both.
  const size = (p: Part, l: Label) => p.t.shape[p.ls.indexOf(l)];
  for (const l of shared) {
    if (keep.has(l) || size(a, l) === size(b, l)) continue;
    const [one, other] = size(a, l) === 1 ? [a, b] : [b, a];
    other.t = sum(other.t, other.ls.indexOf(l));
    other.ls = other.ls.filter((m) => m !== l);
    one.t = squeeze(one.t, one.ls.indexOf(l));
    one.ls = one.ls.filter((m) => m !== l);
  }
  shared = a.ls.filter((l) => b.ls.includes(l));
  const batch = shared.filter((l) => keep.has(l));
  const summed = shared.filter((l) => !keep.has(l));
  const aOnly = a.ls.filter((l) => !b.ls.includes(l));
  const bOnly = b.ls.filter((l) => !a.ls.includes(l));
  const ls = [...batch, ...aOnly, ...bOnly];
  if (!summed.length) return { t: mul(arrange(a, ls), arrange(b, ls)), ls };
  // One (batched) matmul: A as [batch..., M, K], B as [batch..., K, N], the batch broadcasting as matmul's does.
  const at = arrange(a, [...batch, ...aOnly, ...summed]);
  const bt = arrange(b, [...batch, ...summed, ...bOnly]);
  const nb = batch.length;
  const dimsOf = (t: Tensor, from: number, n: number) => t.shape.slice(from, from + n);
  const [m, k, n] = [
    numel(dimsOf(at, nb, aOnly.length)),
    numel(dimsOf(at, nb + aOnly.length, summed.length)),
    numel(dimsOf(bt, nb + summed.length, bOnly.length)),
  ];
  const y = matmul(reshape(at, [...at.shape.slice(0, nb), m, k]), reshape(bt, [...bt.shape.slice(0, nb), k, n]));
  const outShape = [
    ...y.shape.slice(0, nb),
    ...dimsOf(at, nb, aOnly.length),
    ...dimsOf(bt, nb + summed.length, bOnly.length),
  ];
  return { t: reshape(y, outShape), ls };
}

function einsumImpl(equation: string, ...rest: (Tensor | Tensor[])[]): Tensor {
  const operands = rest.length === 1 && Array.isArray(rest[0]) ? rest[0] : (rest as Tensor[]);
  const shapes = operands.map((t) => (t instanceof Tensor ? t.shape : []));
  const at = `equation '${equation}', operand shapes ${shapes.map((s) => fmtShape(s)).join(', ')}`;
  if (operands.length === 0)
    throw new ValueError(`einsum: give at least one operand after the equation (${at}), e.g. einsum('ij->ji', x)`);
  operands.forEach((t, i) => {
    if (!(t instanceof Tensor))
      throw new ValueError(`einsum: operand ${i} must be a Tensor, got ${t === null ? 'null' : typeof t} (${at})`);
  });
  const dtypes = new Set(operands.map((t) => t.dtype));
  if (dtypes.size > 1)
    throw new DTypeError(
      `einsum: the operands have dtypes ${operands.map((t) => t.dtype).join(', ')} (${at}); they need one dtype, as ` +
        "matmul does: convert them with .float() or .double() (or .to('float64'))",
    );
  const { inputs, output } = parse(equation, shapes);

  // How many operands carry each subscript, to know when one can be summed out.
  const users = new Map<Label, number>();
  for (const ls of inputs) for (const l of new Set(ls)) users.set(l, (users.get(l) ?? 0) + 1);
  const out = new Set(output);
  const parts = operands.map((t, i) => {
    const p = diagonals(t, inputs[i]);
    return sumOut(p, new Set(p.ls.filter((l) => out.has(l) || users.get(l)! > 1)));
  });
  let acc = parts[0];
  for (let i = 1; i < parts.length; i++) {
    const keep = new Set(output);
    for (let j = i + 1; j < parts.length; j++) for (const l of parts[j].ls) keep.add(l);
    acc = contract(acc, parts[i], keep);
  }
  acc = sumOut(acc, out);
  const perm = output.map((l) => acc.ls.indexOf(l));
  return perm.some((d, i) => d !== i) ? permute(acc.t, perm) : acc.t;
}

type EinsumFn = {
  (equation: string, ...operands: Tensor[]): Tensor;
  (equation: string, operands: Tensor[]): Tensor;
};

/**
 * Einstein summation, PyTorch's torch.einsum: `einsum('bij,bjk->bik', a, b)` or `einsum(eq, [a, b])`. Each input
 * term names its operand's dims; a subscript repeated inside one term takes the diagonal, one shared between terms
 * is multiplied along, and one missing from the output is summed. Without '->' the output is the subscripts used
 * once, in alphabetical order; '...' stands for broadcast dims. The operands must share one dtype.
 */
export const einsum = testedOp({
  name: 'einsum',
  fn: checked(
    'einsum',
    { args: { equation: str }, rest: union(tensor, array(tensor, 'an array of Tensors')) },
    einsumImpl,
  ) as EinsumFn,
  samples: [
    {
      args: [
        [2, 3, 4],
        [2, 4, 5],
      ],
      call: (f, a, b) => f('bij,bjk->bik', a, b),
      torch: "lambda a, b: torch.einsum('bij,bjk->bik', a, b)",
      note: 'batched matmul',
    },
    {
      args: [
        [2, 2, 3, 4],
        [2, 2, 5, 4],
      ],
      call: (f, q, k) => f('bhqd,bhkd->bhqk', q, k),
      torch: "lambda q, k: torch.einsum('bhqd,bhkd->bhqk', q, k)",
      note: 'attention scores',
    },
    {
      args: [
        [2, 2, 3, 5],
        [2, 2, 5, 4],
      ],
      call: (f, p, v) => f('bhqk,bhkd->bhqd', p, v),
      torch: "lambda p, v: torch.einsum('bhqk,bhkd->bhqd', p, v)",
      note: 'attention output',
    },
    { args: [[3, 4]], call: (f, x) => f('ij->ji', x), torch: "lambda x: torch.einsum('ij->ji', x)" },
    { args: [[3, 3]], call: (f, x) => f('ii->i', x), torch: "lambda x: torch.einsum('ii->i', x)", note: 'diagonal' },
    { args: [[3, 3]], call: (f, x) => f('ii', x), torch: "lambda x: torch.einsum('ii', x)", note: 'trace' },
    { args: [[4], [4]], call: (f, a, b) => f('i,i->', a, b), torch: "lambda a, b: torch.einsum('i,i->', a, b)" },
    { args: [[3], [4]], call: (f, a, b) => f('i,j->ij', a, b), torch: "lambda a, b: torch.einsum('i,j->ij', a, b)" },
    {
      args: [
        [3, 4],
        [4, 5],
      ],
      call: (f, a, b) => f('ij,jk', [a, b]),
      torch: "lambda a, b: torch.einsum('ij,jk', [a, b])",
      note: 'implicit output, operands as a list',
    },
    {
      args: [[2, 3, 4]],
      call: (f, x) => f('ba...', x),
      torch: "lambda x: torch.einsum('ba...', x)",
      note: 'implicit output: the ellipsis first, then the subscripts in order',
    },
    {
      args: [
        [2, 3, 4],
        [4, 5],
      ],
      call: (f, a, b) => f('...ij,...jk', a, b),
      torch: "lambda a, b: torch.einsum('...ij,...jk', a, b)",
      note: 'implicit output with an ellipsis',
    },
    {
      args: [
        [2, 1, 3, 4],
        [5, 4, 2],
      ],
      call: (f, a, b) => f('...ij,...jk->...ik', a, b),
      torch: "lambda a, b: torch.einsum('...ij,...jk->...ik', a, b)",
      note: 'ellipsis broadcasting',
    },
    {
      args: [[2, 3, 3, 4], [4]],
      call: (f, x, w) => f('bii..., ... -> ib', x, w),
      torch: "lambda x, w: torch.einsum('bii..., ... -> ib', x, w)",
      note: 'diagonal, ellipsis summed, spaces',
    },
    {
      args: [
        [3, 1],
        [1, 4],
        [4, 2],
      ],
      call: (f, a, b, c) => f('ij,jk,kl->il', a, b, c),
      torch: "lambda a, b, c: torch.einsum('ij,jk,kl->il', a, b, c)",
      note: 'three operands, a broadcast size-1 subscript',
    },
    {
      args: [
        [2, 3],
        [3, 2],
      ],
      call: (f, a, b) => f('ij,ji->ij', a, b),
      torch: "lambda a, b: torch.einsum('ij,ji->ij', a, b)",
      note: 'elementwise with a transpose',
    },
    { args: [[]], call: (f, x) => f('->', x), torch: "lambda x: torch.einsum('->', x)", note: '0-d' },
    {
      args: [
        [0, 3],
        [3, 2],
      ],
      call: (f, a, b) => f('ij,jk->ik', a, b),
      torch: "lambda a, b: torch.einsum('ij,jk->ik', a, b)",
    },
  ],
});
