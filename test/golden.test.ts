/**
 * @file PyTorch parity from committed fixtures: for every op-table sample, our float64 forward and the gradient of a
 * seeded cotangent with respect to every float input, against what PyTorch computes for the sample's `torch`
 * expression (test/fixtures/golden.jsonl, made by `npm run golden`; torch is never needed here). Also checks that
 * every sample names its PyTorch equivalent or says why there is none, so a new op cannot skip the comparison.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { buildCase, decodeValues, fingerprint, type GoldenCase, goldenCases, type JsonNumber } from './golden-cases.js';
import { assertClose } from './helpers.js';

interface Entry {
  key: string;
  torch: string;
  hash: string;
  out: { shape: number[]; dtype: ad.DType; values: JsonNumber[] };
  /** One slot per input: null where it is not differentiated (or, in PyTorch, unused); absent without a cotangent. */
  grads?: (JsonNumber[] | null)[];
}

// JSON Lines: a header, then one case a line.
const entries: Entry[] = readFileSync(new URL('./fixtures/golden.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .slice(1)
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line));
const byKey = new Map(entries.map((e) => [e.key, e]));
const cases = goldenCases();
const REGENERATE =
  'regenerate the fixtures with `npm run golden` (npx tsx scripts/golden-export.ts && /usr/bin/python3 ' +
  'scripts/golden.py) and commit test/fixtures/golden.jsonl';

/** float64 end to end, so differences are ours or PyTorch's rounding, not float32's. */
const FORWARD = { rtol: 1e-12, atol: 1e-12 };
const GRAD = { rtol: 1e-10, atol: 1e-12 };

const label = (c: GoldenCase) => `${c.key}${c.sample.note ? ` (${c.sample.note})` : ''}`;

describe('PyTorch parity: coverage', () => {
  test('every op sample names its PyTorch equivalent, or says why it has none', () => {
    const problems: string[] = [];
    for (const c of cases) {
      if (c.torch === undefined)
        problems.push(
          `${label(c)}: no PyTorch expression. In ${c.op.name}'s definition, give that sample ` +
            `torch: 'lambda x: torch.…(x, …)' (the sample's call in Python, over the sample tensors), or give the op ` +
            `torch: 'torch.…' if the sample calls it plainly; where PyTorch has no equivalent, torch: null with a ` +
            `torchNote saying why. Then ${REGENERATE}.`,
        );
      else if (c.torch === null && !c.sample.torchNote)
        problems.push(`${label(c)}: torch: null needs a torchNote saying why PyTorch has no equivalent`);
    }
    assert.equal(problems.length, 0, `\n${problems.join('\n')}`);
  });

  test('every fixture belongs to a sample that names it', () => {
    const expected = new Map(cases.filter((c) => typeof c.torch === 'string').map((c) => [c.key, c.torch]));
    const orphans = entries.filter((e) => expected.get(e.key) !== e.torch).map((e) => `${e.key}: ${e.torch}`);
    assert.equal(
      orphans.length,
      0,
      `fixtures for samples that no longer exist or changed; ${REGENERATE}:\n${orphans.join('\n')}`,
    );
  });
});

for (const op of new Set(cases.map((c) => c.op))) {
  describe(`PyTorch parity: ${op.name}`, () => {
    for (const c of cases) {
      if (c.op !== op || typeof c.torch !== 'string') continue;
      const expr = c.torch;
      test(`${label(c)}: ${expr}`, () => {
        const e = byKey.get(c.key);
        assert.ok(e, `${c.key}: no fixture for this sample; ${REGENERATE}`);
        assert.equal(e.torch, expr, `${c.key}: the fixture was made for another expression; ${REGENERATE}`);
        ad.setBackend('js');
        const { inputs, out, cotangent } = buildCase(c);
        assert.equal(fingerprint(inputs), e.hash, `${c.key}: the sample's inputs changed; ${REGENERATE}`);

        assert.deepEqual(out.shape, e.out.shape, `${c.key}: output shape ${out.shape} vs PyTorch's ${e.out.shape}`);
        // Our default integer dtype is int32 where PyTorch's is int64 (argmax, oneHot of int32 indices).
        const dtypeOk = out.dtype === e.out.dtype || (out.dtype === 'int32' && e.out.dtype === 'int64');
        assert.ok(dtypeOk, `${c.key}: output dtype ${out.dtype}, PyTorch's ${e.out.dtype}`);
        assertClose(out.dataSync(), decodeValues(e.out.values), FORWARD.rtol, FORWARD.atol, `${c.key} forward`);

        if (!cotangent)
          return assert.equal(e.grads, undefined, `${c.key}: the fixture has gradients, the op none; ${REGENERATE}`);
        assert.ok(e.grads, `${c.key}: the fixture has no gradients; ${REGENERATE}`);
        const wrt = inputs.filter((x) => x.requiresGrad);
        const ours = out.requiresGrad
          ? ad.autograd.grad(out, wrt, { gradOutputs: cotangent, allowUnused: true })
          : wrt.map(() => null);
        let k = 0;
        inputs.forEach((x, i) => {
          if (!x.requiresGrad) return;
          const g = ours[k++];
          const n = x.numel();
          // null (an input the output does not depend on) is a zero gradient, on either side.
          const got = g ? g.dataSync() : new Float64Array(n);
          const want = e.grads![i] ? decodeValues(e.grads![i]!) : new Array<number>(n).fill(0);
          if (g) assert.deepEqual(g.shape, x.shape, `${c.key}: gradient ${i} has shape ${g.shape}, input ${x.shape}`);
          assertClose(got, want, GRAD.rtol, GRAD.atol, `${c.key} gradient of input ${i}`);
        });
      });
    }
  });
}
