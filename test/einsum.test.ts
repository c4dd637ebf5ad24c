/**
 * @file einsum beyond the op table: each contraction a transformer uses against the same computation written with
 * matmul, transpose and sum; implicit output and ellipsis rules; gradients to second order through a diagonal; and
 * a typed error naming einsum, the equation and the operand shapes for every malformed equation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const r = (...shape: number[]) => ad.randn(shape, { dtype: 'float64' });
const same = (a: ad.Tensor, b: ad.Tensor, what: string) => {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assertClose(a.dataSync(), b.dataSync(), 1e-12, 1e-12, what);
};

describe('einsum: the contractions', () => {
  test('batched matmul, attention scores and outputs, transpose, diagonal, trace, dot, outer', () => {
    ad.manualSeed(3);
    const a = r(2, 3, 4);
    const b = r(2, 4, 5);
    same(ad.einsum('bij,bjk->bik', a, b), ad.bmm(a, b), 'bij,bjk->bik');
    const q = r(2, 2, 3, 4);
    const k = r(2, 2, 5, 4);
    const v = r(2, 2, 5, 4);
    const s = ad.einsum('bhqd,bhkd->bhqk', q, k);
    same(s, q.matmul(k.mT), 'bhqd,bhkd->bhqk');
    same(ad.einsum('bhqk,bhkd->bhqd', s, v), s.matmul(v), 'bhqk,bhkd->bhqd');
    const m = r(3, 4);
    same(ad.einsum('ij->ji', m), m.T, 'ij->ji');
    const sq = ad.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ],
      { dtype: 'float64' },
    );
    assert.deepEqual(Array.from(ad.einsum('ii->i', sq).dataSync()), [1, 5, 9]);
    assert.equal(ad.einsum('ii', sq).item(), 15);
    const x = r(4);
    const y = r(4);
    same(ad.einsum('i,i->', x, y), ad.dot(x, y), 'i,i->');
    same(ad.einsum('i,j->ij', x, r(3).mul(0).add(1)), x.unsqueeze(1).expand(4, 3), 'i,j->ij');
  });

  test('implicit output: subscripts used once, in alphabetical order, after the broadcast dims', () => {
    ad.manualSeed(4);
    const m = r(2, 3);
    same(ad.einsum('ba', m), m.T, "'ba' is 'ba->ab'");
    same(ad.einsum('ij,jk', m, r(3, 4).mul(0).add(1)), m.sum(1, true).expand(2, 4), "'ij,jk' is 'ij,jk->ik'");
    const e = r(5, 2, 3);
    assert.deepEqual(ad.einsum('...ij,...jk', e, r(3, 4)).shape, [5, 2, 4]);
    assert.deepEqual(ad.einsum('ba...', r(2, 3, 4)).shape, [4, 3, 2]);
  });

  test('ellipsis broadcasting, a summed ellipsis, size-1 subscripts, the list form, spaces', () => {
    ad.manualSeed(5);
    const a = r(2, 1, 3, 4);
    const b = r(5, 4, 2);
    same(ad.einsum('...ij,...jk->...ik', a, b), a.matmul(b), 'ellipsis broadcast');
    const x = r(5, 2, 3);
    same(ad.einsum('...ij->ij', x), x.sum(0), 'an ellipsis missing from the output is summed');
    const u = r(3);
    same(ad.einsum('i,i->', u, ad.ones([1], { dtype: 'float64' })), u.sum(), 'a size-1 subscript broadcasts');
    same(ad.einsum('ij,jk', [m3(), m3()]), m3().matmul(m3()), 'operands as one array');
    same(ad.einsum(' i j -> j i ', m3()), m3().T, 'spaces');
    assert.deepEqual(ad.einsum('ij->...ij', m3()).shape, [3, 3], 'an output ellipsis no input has covers no dims');
  });

  test('gradients through a diagonal and a contraction, to second order and in forward mode', () => {
    ad.manualSeed(6);
    const x = r(3, 3, 2).requiresGrad_(true);
    const w = r(2, 4).requiresGrad_(true);
    const f = (a: ad.Tensor, b: ad.Tensor) => ad.einsum('iij,jk->ik', a, b).pow(2);
    ad.assertGradcheck(f, [x, w]);
    ad.assertGradgradcheck(f, [x, w]);
    const jvp = ad.checkGrads(f, [x, w], { order: 1, modes: ['fwd'] });
    assert.ok(jvp.ok, jvp.failures.map((e) => e.message).join('; '));
    // The diagonal's adjoint writes the gradient onto the diagonal of zeros.
    const t = ad.eye(3).double().requiresGrad_(true);
    ad.einsum('ii', t).backward();
    assert.deepEqual(Array.from(t.grad!.dataSync()), Array.from(ad.eye(3).dataSync()));
  });
});

function m3(): ad.Tensor {
  return ad.arange(9).reshape(3, 3).double();
}

describe('einsum: errors', () => {
  test('every malformed equation is a typed error naming einsum, the equation and the shapes', () => {
    const v = ad.ones([3]);
    const m = ad.ones([2, 3]);
    const cases: [() => unknown, new (...a: any[]) => Error, string][] = [
      [() => ad.einsum('i1->', v), ad.ValueError, "invalid subscript '1' at index 1"],
      [() => ad.einsum('i->i->i', v), ad.ValueError, "invalid subscript '-' at index 4"],
      [() => ad.einsum('i,i->', v), ad.ValueError, 'the equation has 2 input terms but 1 operand was given'],
      [() => ad.einsum('i->', v, v), ad.ValueError, 'the equation has 1 input term but 2 operands were given'],
      [() => ad.einsum('ij->', v), ad.ShapeError, "operand 0 has 1 dim but its term 'ij' has 2 subscripts"],
      [() => ad.einsum('ijk...->', m), ad.ShapeError, 'operand 0 has 2 dims but its term has 3 subscripts'],
      [() => ad.einsum('i->j', v), ad.ValueError, 'output subscript j does not appear'],
      [() => ad.einsum('i->ii', v), ad.ValueError, 'output subscript i appears more than once'],
      [() => ad.einsum('ij,jk->ik', m, ad.ones([4, 5])), ad.ShapeError, 'subscript j has size 4 for operand 1'],
      [
        () => ad.einsum('ii->i', m),
        ad.ShapeError,
        "subscript i is repeated for operand 0 but the sizes don't match, 2 != 3",
      ],
      [() => ad.einsum('......->', m), ad.ValueError, 'operand 0 has a second ellipsis'],
      [() => ad.einsum('i.->', m), ad.ValueError, "found '.' at index 1 for operand 0 that is not part of an ellipsis"],
      [() => ad.einsum('...->......', m), ad.ValueError, 'the output has a second ellipsis'],
      [
        () => ad.einsum('...i,...i->...', ad.ones([2, 3]), ad.ones([4, 3])),
        ad.ShapeError,
        'dim 0 covered by the ellipsis in operand 1 has size 4',
      ],
      [() => ad.einsum('i,i->', v, ad.ones([3], { dtype: 'float64' })), ad.DTypeError, 'float32, float64'],
      [() => ad.einsum('i->'), ad.ValueError, 'give at least one operand'],
      [() => ad.einsum('i,i', [v] as never, v), ad.ValueError, 'operand 0 must be a Tensor'],
      [() => ad.einsum(3 as never, v), ad.ArgumentError, 'equation must be a string'],
      [() => ad.einsum('i', 3 as never), ad.ArgumentError, 'einsum: argument 2 must be'],
    ];
    for (const [f, cls, msg] of cases) {
      const e = assertThrowsMsg(f, cls, 'einsum:', msg);
      if (!(e instanceof ad.ArgumentError)) assert.match(e.message, /equation '.*', operand shapes/, e.message);
    }
  });
});
