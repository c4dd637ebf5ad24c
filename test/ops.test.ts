/**
 * @file The op table's tests: for every registered op, every backend and every sample (and its transposed, strided
 * and expanded variants), the forward against float64 references, gradcheck, gradgradcheck and the adjoint identity.
 * Adding an op with samples adds its tests here; nothing else needs editing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { type Arg, OP_TESTS, type OpTest, type Sample } from '../src/ops/registry.js';
import { assertClose, isDiffArg, makeArg, spec } from './helpers.js';

type Variant = 'contiguous' | 'transposed' | 'strided' | 'expanded';

/** Builds leaves and the function from leaves to the op's inputs for a variant; null when it does not apply. */
function build(s: Sample, v: Variant): { leaves: ad.Tensor[]; toInputs: (ls: ad.Tensor[]) => ad.Tensor[] } | null {
  const args = s.args;
  const views: ((t: ad.Tensor) => ad.Tensor)[] = [];
  const leaves: ad.Tensor[] = [];
  let applied = false;
  for (const a of args) {
    const sp = spec(a);
    const sh = sp.shape;
    if (v !== 'contiguous' && isDiffArg(a)) {
      if (v === 'transposed' && sh.length >= 2) {
        const tsh = [...sh.slice(0, -2), sh[sh.length - 1], sh[sh.length - 2]];
        leaves.push(makeArg(a, tsh));
        views.push((t) => t.transpose(-1, -2));
        applied = true;
        continue;
      }
      if (v === 'strided' && sh.length >= 1) {
        const ssh = [...sh.slice(0, -1), sh[sh.length - 1] * 2];
        leaves.push(makeArg(a, ssh));
        views.push((t) => t.slice(-1, 0, null, 2));
        applied = true;
        continue;
      }
      const big = sh.findIndex((d) => d > 1);
      if (v === 'expanded' && big >= 0) {
        const esh = sh.slice();
        esh[big] = 1;
        leaves.push(makeArg(a, esh));
        views.push((t) => t.expand(sh));
        applied = true;
        continue;
      }
    }
    leaves.push(makeArg(a));
    views.push((t) => t);
  }
  if (v !== 'contiguous' && !applied) return null;
  return { leaves, toInputs: (ls) => ls.map((l, i) => views[i](l)) };
}

function call(op: OpTest, s: Sample, xs: ad.Tensor[]): ad.Tensor {
  return s.call ? s.call(op.fn, ...xs) : op.fn(...xs);
}

let seed = 1;
for (const backend of ad.backendNames()) {
  describe(`ops on the ${backend} backend`, () => {
    for (const op of OP_TESTS) {
      describe(op.name, () => {
        op.samples.forEach((s, si) => {
          const variants: Variant[] = s.noVariants
            ? ['contiguous']
            : ['contiguous', 'transposed', 'strided', 'expanded'];
          for (const v of variants) {
            const mySeed = seed++;
            ad.manualSeed(mySeed);
            const built = build(s, v);
            if (!built) continue;
            const shapes = s.args.map((a: Arg) => JSON.stringify(spec(a).shape)).join(' ');
            test(`sample ${si} ${shapes} ${v}${s.note ? ` (${s.note})` : ''}`, () => {
              ad.setBackend(backend);
              ad.manualSeed(mySeed);
              const { leaves, toInputs } = built;
              const f = (...ls: ad.Tensor[]) => call(op, s, toInputs(ls));
              const out = f(...leaves);
              // float32 inputs give the float64 result to float32 accuracy.
              const f32 = leaves.map((l) => (l.dtype === 'float64' ? l.detach().float() : l));
              const out32 = ad.noGrad(() => f(...f32));
              assert.deepEqual(out32.shape, out.shape);
              if (out.dtype === 'float64') assert.equal(out32.dtype, 'float32', 'float32 inputs should give float32');
              assertClose(out32.dataSync(), out.dataSync(), 2e-4, 2e-4, `${op.name} float32 vs float64`);
              if (op.reference && !s.call && leaves.length === 1 && v === 'contiguous') {
                const xs = leaves[0].dataSync();
                assertClose(
                  out.dataSync(),
                  Array.from(xs, (x) => op.reference!(x)),
                  1e-12,
                  1e-14,
                  `${op.name} reference`,
                );
              }
              if (op.differentiable === false) {
                assert.equal(out.requiresGrad, false, `${op.name} output must not require grad`);
                return;
              }
              const tol = { atol: op.atol ?? 1e-5, rtol: op.rtol ?? 1e-3 };
              ad.assertGradcheck(f, leaves, tol);
              if (op.gradgrad !== false) ad.assertGradgradcheck(f, leaves, tol);
              const adj = ad.adjointCheck(f, leaves);
              assert.ok(
                adj.ok,
                `adjoint identity: <Ju,v> = ${adj.jvpSide}, <u,J'v> = ${adj.vjpSide} (rel ${adj.relError}), JVP vs FD ${adj.jvpFdError}`,
              );
            });
          }
        });
      });
    }
  });
}
