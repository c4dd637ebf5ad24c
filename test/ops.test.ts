/**
 * @file The op table's tests: for every registered op, every backend and every sample (and its transposed, strided
 * and expanded variants), the forward against float64 references, gradcheck, gradgradcheck, the JVP against finite
 * differences and the adjoint identity. test/ops-second-order.test.ts checks the same table to second order in both
 * modes. Adding an op with samples adds its tests here; nothing else needs editing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { type Arg, OP_TESTS } from '../src/ops/registry.js';
import { assertClose, spec } from './helpers.js';
import { build, call, VARIANTS } from './op-variants.js';

let seed = 1;
for (const backend of ad.backendNames()) {
  describe(`ops on the ${backend} backend`, () => {
    for (const op of OP_TESTS) {
      describe(op.name, () => {
        op.samples.forEach((s, si) => {
          const variants = s.noVariants ? VARIANTS.slice(0, 1) : VARIANTS;
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
              // Without a float input (integer arithmetic, an int64 sum) there is no gradient to check.
              if (op.differentiable === false || !leaves.some((l) => l.requiresGrad)) {
                assert.equal(out.requiresGrad, false, `${op.name} output must not require grad`);
                return;
              }
              const tol = { atol: op.atol ?? 1e-5, rtol: op.rtol ?? 1e-3 };
              ad.assertGradcheck(f, leaves, tol);
              if (op.gradgrad !== false) ad.assertGradgradcheck(f, leaves, tol);
              // The JVP rules against central differences along a random direction (narrowed to an input on failure).
              const jvp = ad.checkGrads(f, leaves, { ...tol, order: 1, modes: ['fwd'] });
              assert.ok(
                jvp.ok,
                `${op.name}: JVP vs finite differences: ${jvp.failures.map((e) => e.message).join('; ')}`,
              );
              // The JVP and VJP rules are transposes: ⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩.
              const adj = ad.adjointCheck(f, leaves);
              assert.ok(
                adj.identityOk,
                `adjoint identity: <Ju,v> = ${adj.jvpSide}, <u,J'v> = ${adj.vjpSide} (rel ${adj.relError})`,
              );
            });
          }
        });
      });
    }
  });
}
