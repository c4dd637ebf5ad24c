/**
 * @file multinomial's distribution, with fixed seeds (its draws cannot match PyTorch's generator, so the op table
 * has no PyTorch fixtures for it): category frequencies with and without replacement against the exact
 * probabilities, distinct draws without replacement, zero weights never drawn, Generator streams, and the typed
 * errors — each thrown before anything is drawn.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

const ints = (t: ad.Tensor) => Array.from(t.dataSync());

/** Pearson's χ² of observed counts against expected probabilities. */
function chiSquare(counts: number[], probs: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((s, c, i) => s + (c - n * probs[i]) ** 2 / (n * probs[i]), 0);
}
// χ² critical values at p = 1e-6 for 3 and 4 degrees of freedom: a correct sampler fails this once in a million seeds.
const CHI2_3 = 30.7;
const CHI2_4 = 33.4;

function counts(xs: number[], n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (const x of xs) c[x]++;
  return c;
}

describe('multinomial: distribution', () => {
  test('with replacement, categories come up in proportion to their weights (unnormalised)', () => {
    ad.manualSeed(123);
    const w = [1, 2, 3, 4, 0];
    const draws = ints(ad.multinomial(ad.tensor(w), 20000, true));
    const c = counts(draws, 5);
    assert.equal(c[4], 0, 'a zero weight is never drawn');
    assert.ok(chiSquare(c.slice(0, 4), [0.1, 0.2, 0.3, 0.4]) < CHI2_3, `counts ${c}`);
  });

  test('without replacement, the first draw follows the weights and the second the renormalised rest', () => {
    ad.manualSeed(7);
    const w = [1, 2, 3, 4];
    const rows = 8000;
    const out = ad.multinomial(ad.tensor(Array.from({ length: rows }, () => w)), 2);
    assert.deepEqual(out.shape, [rows, 2]);
    assert.equal(out.dtype, 'int32');
    const d = ints(out);
    const first: number[] = [];
    const second: number[] = [];
    for (let r = 0; r < rows; r++) {
      assert.notEqual(d[2 * r], d[2 * r + 1], `row ${r} drew the same category twice`);
      first.push(d[2 * r]);
      second.push(d[2 * r + 1]);
    }
    const S = 10;
    assert.ok(chiSquare(counts(first, 4), [0.1, 0.2, 0.3, 0.4]) < CHI2_3);
    // P(second = j) = Σ_{i ≠ j} (w_i / S) · w_j / (S − w_i).
    const p2 = w.map((wj, j) => w.reduce((s, wi, i) => (i === j ? s : s + (wi / S) * (wj / (S - wi))), 0));
    assert.ok(chiSquare(counts(second, 4), p2) < CHI2_3, `second draws ${counts(second, 4)} vs ${p2}`);
  });

  test('drawing every category without replacement gives a permutation, uniform for equal weights', () => {
    ad.manualSeed(11);
    const rows = 6000;
    const d = ints(ad.multinomial(ad.ones([rows, 5]), 5));
    const firsts: number[] = [];
    for (let r = 0; r < rows; r++) {
      assert.deepEqual(
        d.slice(5 * r, 5 * r + 5).sort((a, b) => a - b),
        [0, 1, 2, 3, 4],
      );
      firsts.push(d[5 * r]);
    }
    assert.ok(chiSquare(counts(firsts, 5), [0.2, 0.2, 0.2, 0.2, 0.2]) < CHI2_4);
  });

  test('the same seed gives the same draws; a Generator keeps its own stream and leaves the global one alone', () => {
    const p = ad.tensor([0.2, 0.5, 0.3]);
    ad.manualSeed(5);
    const a = ints(ad.multinomial(p, 8, true));
    ad.manualSeed(5);
    assert.deepEqual(ints(p.multinomial(8, true)), a);
    const before = ad.getRngState();
    const g1 = ints(ad.multinomial(p, 8, true, { generator: new ad.data.Generator(42) }));
    const g2 = ints(ad.multinomial(p, 8, true, { generator: new ad.data.Generator(42) }));
    assert.deepEqual(g1, g2);
    assert.deepEqual(ad.getRngState(), before, 'drawing from a Generator must not move the global stream');
    const g = new ad.data.Generator(42);
    ad.multinomial(p, 8, true, { generator: g });
    assert.notDeepEqual(ints(ad.multinomial(p, 8, true, { generator: g })), g1, 'the generator advances');
  });
});

describe('multinomial: errors', () => {
  test("bad weights and sizes are typed errors in PyTorch's words, thrown before anything is drawn", () => {
    const cases: [() => unknown, new (...a: any[]) => Error, string][] = [
      [() => ad.multinomial(ad.tensor([1, -1, 0]), 1), ad.ValueError, 'contains either inf, nan or an element < 0'],
      [() => ad.multinomial(ad.tensor([1, Number.NaN]), 1), ad.ValueError, 'contains either inf, nan'],
      [() => ad.multinomial(ad.tensor([1, Infinity]), 1), ad.ValueError, 'contains either inf, nan'],
      [
        () =>
          ad.multinomial(
            ad.tensor([
              [1, 0],
              [0, 0],
            ]),
            1,
          ),
        ad.ValueError,
        'invalid multinomial distribution (sum of probabilities <= 0): row 1',
      ],
      [
        () => ad.multinomial(ad.tensor([1, 1]), 3),
        ad.ValueError,
        'cannot draw 3 samples from 2 categories without replacement',
      ],
      [() => ad.multinomial(ad.tensor([1, 0, 0]), 2), ad.ValueError, 'only 1 nonzero weight'],
      [() => ad.multinomial(ad.tensor([1, 1]), 0), ad.ArgumentError, 'numSamples must be a whole number ≥ 1'],
      [() => ad.multinomial(ad.ones([2, 2, 2]), 1), ad.ShapeError, 'must be 1-D [categories] or 2-D'],
      [() => ad.multinomial(ad.tensor(1), 1), ad.ShapeError, 'reshape a single weight to [1]'],
      [() => ad.multinomial(ad.tensor([1, 2], { dtype: 'int32' }), 1), ad.DTypeError, 'must be floating point'],
      [() => ad.multinomial(ad.ones([2]), 1, false, { generator: 7 } as never), ad.ArgumentError, 'generator must be'],
      [() => ad.multinomial(ad.ones([2]), 1, { num_samples: 1 } as never), ad.ArgumentError, 'use numSamples'],
    ];
    for (const [f, cls, msg] of cases) {
      const before = ad.getRngState();
      const e = assertThrowsMsg(f, cls, 'multinomial', msg);
      assert.deepEqual(ad.getRngState(), before, `the failed call drew from the stream: ${e.message}`);
    }
  });

  test('with replacement, one positive weight is enough, and an empty batch gives an empty result', () => {
    assert.deepEqual(ints(ad.multinomial(ad.tensor([0, 1, 0]), 4, true)), [1, 1, 1, 1]);
    assert.deepEqual(ad.multinomial(ad.ones([0, 3]), 2).shape, [0, 2]);
  });
});
