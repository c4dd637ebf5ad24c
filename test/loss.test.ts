/**
 * @file Values and gradients of the loss functions and F.linear against numbers computed with PyTorch 1.13 (every
 * reduction, class weights, ignored targets, label smoothing, probability targets, spatial inputs, BCE's clamping at
 * 0 and 1, the logits form with posWeight and huge logits), the `ad.F` namespace, and the message of every error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const F = ad.F;
type Nested = number | Nested[];

const f64 = (data: ad.NestedArray, grad = false) => ad.tensor(data, { dtype: 'float64', requiresGrad: grad });
const i32 = (data: ad.NestedArray) => ad.tensor(data, { dtype: 'int32' });
const flat = (v: Nested): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);

/** t's values equal PyTorch's (shape included, for nested expectations). */
function close(t: ad.Tensor, expected: Nested, rtol = 1e-12, atol = 1e-14, what = '') {
  if (Array.isArray(expected)) {
    const shape: number[] = [];
    for (let e: Nested = expected; Array.isArray(e); e = e[0]) shape.push(e.length);
    assert.deepEqual(t.shape, shape, `${what}: shape`);
  } else assert.deepEqual(t.shape, [], `${what}: shape`);
  assertClose(t.dataSync(), flat(expected), rtol, atol, what);
}

/** The gradient of loss.sum() with respect to each leaf. */
function grads(loss: ad.Tensor, leaves: ad.Tensor[]): ad.Tensor[] {
  return ad.autograd.grad(loss.sum(), leaves) as ad.Tensor[];
}

// Computed with torch 1.13, float64 unless noted.
const TORCH = {
  ce_mean: 1.1645096204591432,
  ce_grad_mean: [
    [-0.22477555016224632, 0.014691698332997848, 0.031102325615024844, 0.17898152621422359],
    [0.05812382921344309, 0.15799694875135933, 0.021382561809785795, -0.2375033397745882],
    [0.006917412568456978, -0.2251267949339042, 0.17840242148796903, 0.039806960877478204],
  ],
  ce_sum: 3.49352886137743,
  ce_grad_sum: [
    [-0.6743266504867389, 0.04407509499899354, 0.09330697684507454, 0.5369445786426708],
    [0.17437148764032928, 0.47399084625407806, 0.06414768542935739, -0.7125100193237646],
    [0.020752237705370935, -0.6753803848017126, 0.5352072644639071, 0.11942088263243461],
  ],
  ce_none: [1.121860395306458, 1.246567269173791, 1.1251011968971807],
  ce_grad_none: [
    [-0.6743266504867389, 0.04407509499899354, 0.09330697684507454, 0.5369445786426708],
    [0.17437148764032928, 0.47399084625407806, 0.06414768542935739, -0.7125100193237646],
    [0.020752237705370935, -0.6753803848017126, 0.5352072644639071, 0.11942088263243461],
  ],
  cew_mean: 0.887477545071066,
  cew_grad_mean: [
    [0.09685507513634535, 0.029172188025388665, -0.126027263161734],
    [0.0, 0.0, 0.0],
    [-0.12379794033220372, 0.08541741964537937, 0.03838052068682432],
    [0.2676060176191321, -0.3038225538094393, 0.036216536190307215],
  ],
  cew_sum: 3.106171407748731,
  cew_grad_sum: [
    [0.33899276297720876, 0.10210265808886033, -0.441095421066069],
    [0.0, 0.0, 0.0],
    [-0.433292791162713, 0.2989609687588278, 0.13433182240388514],
    [0.9366210616669624, -1.0633789383330376, 0.12675787666607527],
  ],
  cew_none: [0.5817765199793885, 0.0, 1.0071475364103157, 1.517247351359027],
  cew_grad_none: [
    [0.33899276297720876, 0.10210265808886033, -0.441095421066069],
    [0.0, 0.0, 0.0],
    [-0.433292791162713, 0.2989609687588278, 0.13433182240388514],
    [0.9366210616669624, -1.0633789383330376, 0.12675787666607527],
  ],
  cels: 0.9291243947513724,
  cels_grad: [
    [0.09370742162671304, 0.010610772111526107, -0.10431819373823911],
    [0.0, 0.0, 0.0],
    [-0.111732903805069, 0.07775878988381092, 0.03397411392125805],
    [0.25169386212309686, -0.27687756644833184, 0.0251837043252349],
  ],
  cels_nw: 1.1404539783820669,
  cels_none: [0.713139461979045, 0.0, 1.0181005412650246, 1.5206953783857342],
  cep: 1.749747585325041,
  cep_grad: [
    [0.05974819074430219, -0.12447433547778491, 0.06472614473348275],
    [0.09948048437941391, 0.017165911201942566, -0.1166463955813565],
    [-0.2166463955813565, 0.1494804843794139, 0.06716591120194257],
    [0.054577632708370294, 0.054577632708370294, -0.10915526541674059],
  ],
  cep_tgrad: [
    [0.2704441299948471, 0.5704441299948471, 0.14544412999484713],
    [0.12857376820515787, 0.3285737682051579, 0.5035737682051579],
    [0.5035737682051579, 0.12857376820515787, 0.3285737682051579],
    [0.18965591891987837, 0.18965591891987837, 0.6896559189198783],
  ],
  cepwls: 1.867871290419204,
  cepwls_none: [2.8596188393688418, 1.7704865472548326, 1.0181005412650244, 1.8232792337881172],
  cepwls_sum: 7.471485161676816,
  ces: 1.0991374166020187,
  ces_grad: [
    [
      [
        [-0.08845867043186097, 0.06537720700791504],
        [0.02286215827062466, 0.0],
      ],
      [
        [0.0613225995887148, 0.11908451510874293],
        [-0.029719768472098014, 0.0],
      ],
      [
        [0.027136070843146187, -0.18446172211665796],
        [0.006857610201473357, 0.0],
      ],
    ],
    [
      [
        [0.02396678861171986, 0.0201070307837273],
        [-0.10091767585783533, 0.006061735416294223],
      ],
      [
        [0.04401570203732452, 0.054768981900129736],
        [0.03595801833015772, -0.0322068711341642],
      ],
      [
        [-0.0679824906490444, -0.07487601268385703],
        [0.06495965752767761, 0.02614513571786997],
      ],
    ],
  ],
  ces_none: [
    [
      [1.590263099263879, 1.7724142966951812],
      [0.7656228940296878, 0.0],
    ],
    [
      [0.365169791664269, 0.4108928975582227],
      [2.388786791176789, 0.8668428802546208],
    ],
  ],
  ce1: 0.342349582389822,
  ce1_ls: 0.6673495823898221,
  nll: 0.887477545071066,
  nll_none: [0.5817765199793885, 0.0, 2.0142950728206315, 0.7586236756795135],
  nll_raw: -0.275,
  mse_mean: 1.8454166666666667,
  mse_grad_mean: [
    [0.16666666666666666, -0.5, 0.5],
    [0.8333333333333333, -0.08333333333333333, -0.033333333333333326],
  ],
  mse_tgrad_mean: [
    [-0.16666666666666666, 0.5, -0.5],
    [-0.8333333333333333, 0.08333333333333333, 0.033333333333333326],
  ],
  mse_sum: 11.0725,
  mse_grad_sum: [
    [1.0, -3.0, 3.0],
    [5.0, -0.5, -0.19999999999999996],
  ],
  mse_tgrad_sum: [
    [-1.0, 3.0, -3.0],
    [-5.0, 0.5, 0.19999999999999996],
  ],
  mse_none: [
    [0.25, 2.25, 2.25],
    [6.25, 0.0625, 0.009999999999999995],
  ],
  mse_grad_none: [
    [1.0, -3.0, 3.0],
    [5.0, -0.5, -0.19999999999999996],
  ],
  mse_tgrad_none: [
    [-1.0, 3.0, -3.0],
    [-5.0, 0.5, 0.19999999999999996],
  ],
  l1_mean: 1.0583333333333333,
  l1_grad_mean: [
    [0.16666666666666666, -0.16666666666666666, 0.16666666666666666],
    [0.16666666666666666, -0.16666666666666666, -0.16666666666666666],
  ],
  l1_tgrad_mean: [
    [-0.16666666666666666, 0.16666666666666666, -0.16666666666666666],
    [-0.16666666666666666, 0.16666666666666666, 0.16666666666666666],
  ],
  l1_sum: 6.35,
  l1_grad_sum: [
    [1.0, -1.0, 1.0],
    [1.0, -1.0, -1.0],
  ],
  l1_tgrad_sum: [
    [-1.0, 1.0, -1.0],
    [-1.0, 1.0, 1.0],
  ],
  l1_none: [
    [0.5, 1.5, 1.5],
    [2.5, 0.25, 0.09999999999999998],
  ],
  l1_grad_none: [
    [1.0, -1.0, 1.0],
    [1.0, -1.0, -1.0],
  ],
  l1_tgrad_none: [
    [-1.0, 1.0, -1.0],
    [-1.0, 1.0, 1.0],
  ],
  sl1_mean: 0.6935416666666666,
  sl1_grad_mean: [
    [0.08333333333333333, -0.16666666666666666, 0.16666666666666666],
    [0.16666666666666666, -0.041666666666666664, -0.016666666666666663],
  ],
  sl1_tgrad_mean: [
    [-0.08333333333333333, 0.16666666666666666, -0.16666666666666666],
    [-0.16666666666666666, 0.041666666666666664, 0.016666666666666663],
  ],
  sl1_sum: 4.16125,
  sl1_grad_sum: [
    [0.5, -1.0, 1.0],
    [1.0, -0.25, -0.09999999999999998],
  ],
  sl1_tgrad_sum: [
    [-0.5, 1.0, -1.0],
    [-1.0, 0.25, 0.09999999999999998],
  ],
  sl1_none: [
    [0.125, 1.0, 1.0],
    [2.0, 0.03125, 0.0049999999999999975],
  ],
  sl1_grad_none: [
    [0.5, -1.0, 1.0],
    [1.0, -0.25, -0.09999999999999998],
  ],
  sl1_tgrad_none: [
    [-0.5, 1.0, -1.0],
    [-1.0, 0.25, 0.09999999999999998],
  ],
  sl1_beta: [
    [0.35, 1.35, 1.35],
    [2.35, 0.10416666666666667, 0.01666666666666666],
  ],
  sl1_beta_grad: [
    [1.0, -1.0, 1.0],
    [1.0, -0.8333333333333334, -0.33333333333333326],
  ],
  sl1_beta0: 1.0583333333333333,
  bce_none: [0.0, 80.0, 0.949783446209775, 100.0, 0.3250829733914482],
  bce_grad: [0.0, 800000003196.6423, -1.9047619047619047, -1000000003995.8029, 0.0],
  bce32: [100.0, 100.0],
  bce32_grad: [-999999995904.0, 999999995904.0],
  bcew_mean: 0.4278485973265412,
  bcew_grad_mean: [
    [0.4166666666666666, -0.3703703703703704, 0.0],
    [-0.11904761904761905, 0.09259259259259257, 0.036630036630036625],
  ],
  bcew_tgrad_mean: [
    [0.46209812037329684, -0.7324081924454066, 0.0],
    [-0.07060815503226696, 0.18310204811135158, 0.05158660070051863],
  ],
  bcew_sum: 2.567091583959247,
  bcew_grad_sum: [
    [2.4999999999999996, -2.2222222222222223, 0.0],
    [-0.7142857142857143, 0.5555555555555555, 0.21978021978021975],
  ],
  bcew_tgrad_sum: [
    [2.772588722239781, -4.394449154672439, 0.0],
    [-0.4236489301936017, 1.0986122886681096, 0.3095196042031118],
  ],
  bcew_none: [
    [0.4462871026284194, 0.21072103131565256, 1.3862943611198906],
    [0.17833747196936622, 0.05268025782891314, 0.2927713590970051],
  ],
  bcew_grad_none: [
    [2.4999999999999996, -2.2222222222222223, 0.0],
    [-0.7142857142857143, 0.5555555555555555, 0.21978021978021975],
  ],
  bcew_tgrad_none: [
    [2.772588722239781, -4.394449154672439, 0.0],
    [-0.4236489301936017, 1.0986122886681096, 0.3095196042031118],
  ],
  bcel_mean: 1.4511692764468467,
  bcel_grad_mean: [
    [0.20748644373395153, -0.1362624126989406, 0.11699878249078433],
    [-0.09369608348096635, 0.07938117723520279, 0.015625],
  ],
  bcel_tgrad_mean: [
    [-0.008641005273297772, 0.21643112033620793, -0.6455119981595047],
    [0.08966161832323698, -0.25202447298223923, 0.02888113252333105],
  ],
  bcel_sum: 8.70701565868108,
  bcel_grad_sum: [
    [1.2449186624037092, -0.8175744761936437, 0.701992694944706],
    [-0.5621765008857981, 0.4762870634112167, 0.09375],
  ],
  bcel_tgrad_sum: [
    [-0.05184603163978663, 1.2985867220172476, -3.8730719889570278],
    [0.5379697099394218, -1.5121468378934355, 0.1732867951399863],
  ],
  bcel_none: [
    [1.9481539683602134, 1.7014132779827524, 2.3173200276074315],
    [0.8259394198788437, 1.524293675786871, 0.38989528906496923],
  ],
  bcel_grad_none: [
    [1.2449186624037092, -0.8175744761936437, 0.701992694944706],
    [-0.5621765008857981, 0.4762870634112167, 0.09375],
  ],
  bcel_tgrad_none: [
    [-0.05184603163978663, 1.2985867220172476, -3.8730719889570278],
    [0.5379697099394218, -1.5121468378934355, 0.1732867951399863],
  ],
  bcel_plain: 1.3950153708697268,
  bcel_plain_grad: [
    [0.10374322186697577, -0.1362624126989406, 0.06346617966298039],
    [-0.09369608348096635, 0.15876235447040557, 0.041666666666666664],
  ],
  bcel_big: [1000.0, 1000.0, Math.LN2, 0.0, 0.0],
  bcel_big_grad: [1.0, -1.0, 0.0, 0.0, 1.928749847963918e-22],
  bcel_big32: [100.0, 300.0],
  bcel_big32_grad: [1.0, -3.0],
  lin: [
    [-1.4, 2.7, 3.3, -0.09999999999999998],
    [-0.9, -1.675, -0.2, 0.9],
    [-2.9, 0.95, 3.3, 0.4],
  ],
  lin_gx: [
    [3.0, 0.25],
    [3.0, 0.25],
    [3.0, 0.25],
  ],
  lin_gw: [
    [0.0, 5.5],
    [0.0, 5.5],
    [0.0, 5.5],
    [0.0, 5.5],
  ],
  lin_gb: [3.0, 3.0, 3.0, 3.0],
};

const REDUCTIONS = ['mean', 'sum', 'none'] as const;

const X = [
  [1.5, -0.5, 0.25, 2.0],
  [0.0, 1.0, -1.0, 0.5],
  [-2.0, 0.75, 1.25, -0.25],
];
const X2 = [
  [0.2, -1.0, 0.7],
  [1.1, 0.3, -0.4],
  [-0.6, 0.9, 0.1],
  [0.5, 0.5, -1.5],
];
const T2 = [2, -100, 0, 1];
const W2 = [0.5, 2.0, 1.0];
const P = [
  [0.1, 0.6, 0.3],
  [0.2, 0.2, 0.6],
  [1.0, 0.0, 0.0],
  [0.25, 0.25, 0.5],
];

describe('crossEntropy with class indices', () => {
  for (const reduction of REDUCTIONS)
    test(`reduction '${reduction}': value and gradient`, () => {
      const x = f64(X, true);
      const loss = F.crossEntropy(x, i32([0, 3, 1]), { reduction });
      close(loss, TORCH[`ce_${reduction}`], 1e-12, 1e-14, 'loss');
      close(grads(loss, [x])[0], TORCH[`ce_grad_${reduction}`], 1e-10, 1e-14, 'grad');
    });
  for (const reduction of REDUCTIONS)
    test(`weight and an ignored target, reduction '${reduction}': 'mean' divides by the kept targets' weights`, () => {
      const x = f64(X2, true);
      const loss = F.crossEntropy(x, i32(T2), { weight: f64(W2), reduction });
      close(loss, TORCH[`cew_${reduction}`], 1e-12, 1e-14, 'loss');
      const [g] = grads(loss, [x]);
      close(g, TORCH[`cew_grad_${reduction}`], 1e-10, 1e-14, 'grad');
      assert.deepEqual(Array.from(g.dataSync().slice(3, 6)), [0, 0, 0], 'an ignored target gets no gradient');
    });
  test('labelSmoothing 0.1 with weight and an ignored target', () => {
    const x = f64(X2, true);
    const loss = F.crossEntropy(x, i32(T2), { weight: f64(W2), labelSmoothing: 0.1 });
    close(loss, TORCH.cels, 1e-12, 1e-14, 'loss');
    close(grads(loss, [x])[0], TORCH.cels_grad, 1e-10, 1e-14, 'grad');
    close(F.crossEntropy(f64(X2), i32(T2), { labelSmoothing: 0.1 }), TORCH.cels_nw, 1e-12, 1e-14, 'no weight');
    const none = F.crossEntropy(f64(X2), i32(T2), { weight: f64(W2), labelSmoothing: 0.1, reduction: 'none' });
    close(none, TORCH.cels_none, 1e-12, 1e-14, 'none');
  });
  test('a class as ignoreIndex, and every target ignored (mean is 0/0 = nan, as in PyTorch)', () => {
    const a = F.crossEntropy(f64(X2), i32([0, 1, 0, 2]), { ignoreIndex: 0, reduction: 'none' });
    assert.equal(a.dataSync()[0], 0);
    assert.equal(a.dataSync()[2], 0);
    assert.ok(Number.isNaN(F.crossEntropy(f64(X2), i32([-100, -100, -100, -100])).item()));
    assert.ok(Number.isNaN(F.crossEntropy(f64(X2), i32([-100, -100, -100, -100]), { labelSmoothing: 0.2 }).item()));
    assert.equal(F.crossEntropy(f64(X2), i32([-100, -100, -100, -100]), { reduction: 'sum' }).item(), 0);
  });
  test('spatial [N, C, H, W] input with [N, H, W] targets', () => {
    const xs = ad.arange(24, undefined, 1, { dtype: 'float64' }).reshape([2, 3, 2, 2]).mul(0.37).sin();
    const x = xs.detach().requiresGrad_(true);
    const target = i32([
      [
        [0, 2],
        [1, -100],
      ],
      [
        [2, 2],
        [0, 1],
      ],
    ]);
    const loss = F.crossEntropy(x, target, { weight: f64([1.0, 0.5, 2.0]) });
    close(loss, TORCH.ces, 1e-12, 1e-14, 'loss');
    close(grads(loss, [x])[0], TORCH.ces_grad, 1e-10, 1e-14, 'grad');
    close(F.crossEntropy(xs, target, { reduction: 'none' }), TORCH.ces_none, 1e-12, 1e-14, 'none');
  });
  test('an unbatched [C] input with a 0-d target', () => {
    const x = f64([0.5, -1.0, 2.0, 0.0]);
    close(F.crossEntropy(x, i32(2)), TORCH.ce1, 1e-12, 1e-14, 'mean');
    close(F.crossEntropy(x, i32(2), { labelSmoothing: 0.2, reduction: 'none' }), TORCH.ce1_ls, 1e-12, 1e-14, 'none');
  });
  test('large logits stay finite (built on logSoftmax)', () => {
    const x = f64(
      [
        [1000, 1001, 1002],
        [-1000, -1000.5, -999],
      ],
      true,
    );
    const loss = F.crossEntropy(x, i32([0, 2]), { reduction: 'none' });
    // −log softmax of the smallest and of the largest score: plain exp would overflow to inf / inf = nan.
    close(loss, [Math.log(1 + Math.E + Math.E ** 2), Math.log(1 + Math.exp(-1) + Math.exp(-1.5))], 1e-12);
    assert.ok(grads(loss, [x])[0].dataSync().every(Number.isFinite));
  });
  test('float32 inputs give a float32 loss close to the float64 one', () => {
    const loss = F.crossEntropy(f64(X2).float(), i32(T2), { weight: f64(W2).float(), labelSmoothing: 0.1 });
    assert.equal(loss.dtype, 'float32');
    close(loss, TORCH.cels, 1e-6, 1e-7);
  });
});

describe('crossEntropy with class probabilities', () => {
  test("'mean' divides by the number of positions; the target gets a gradient too", () => {
    const x = f64(X2, true);
    const p = f64(P, true);
    const loss = F.crossEntropy(x, p);
    close(loss, TORCH.cep, 1e-12, 1e-14, 'loss');
    const [gx, gp] = grads(loss, [x, p]);
    close(gx, TORCH.cep_grad, 1e-10, 1e-14, 'input grad');
    close(gp, TORCH.cep_tgrad, 1e-10, 1e-14, 'target grad');
  });
  test('weight and labelSmoothing, every reduction', () => {
    const opts = { weight: f64(W2), labelSmoothing: 0.1 };
    close(F.crossEntropy(f64(X2), f64(P), opts), TORCH.cepwls, 1e-12, 1e-14, 'mean');
    close(F.crossEntropy(f64(X2), f64(P), { ...opts, reduction: 'sum' }), TORCH.cepwls_sum, 1e-12, 1e-14, 'sum');
    close(F.crossEntropy(f64(X2), f64(P), { ...opts, reduction: 'none' }), TORCH.cepwls_none, 1e-12, 1e-14, 'none');
  });
});

describe('nllLoss', () => {
  test('on logSoftmax it is crossEntropy; weight, ignored targets and none', () => {
    const lp = F.logSoftmax(f64(X2), 1);
    close(F.nllLoss(lp, i32(T2), { weight: f64(W2) }), TORCH.nll, 1e-12, 1e-14, 'mean');
    close(F.nllLoss(lp, i32(T2), { reduction: 'none' }), TORCH.nll_none, 1e-12, 1e-14, 'none');
  });
  test('takes the input as log-probabilities as given', () => {
    close(F.nllLoss(f64(X2), i32([0, 1, 2, 1])), TORCH.nll_raw, 1e-12, 1e-14);
  });
});

const A = [
  [0.5, -1.0, 2.0],
  [1.5, 0.0, -0.3],
];
const B = [
  [0.0, 0.5, 0.5],
  [-1.0, 0.25, -0.2],
];

describe('regression losses', () => {
  const losses = [
    ['mse', F.mseLoss],
    ['l1', F.l1Loss],
    ['sl1', F.smoothL1Loss],
  ] as const;
  for (const [name, fn] of losses)
    for (const reduction of REDUCTIONS)
      test(`${fn.name || name} '${reduction}': value, input and target gradients`, () => {
        const a = f64(A, true);
        const b = f64(B, true);
        const loss = fn(a, b, { reduction });
        close(loss, TORCH[`${name}_${reduction}`], 1e-12, 1e-14, `${name} loss`);
        const [ga, gb] = grads(loss, [a, b]);
        close(ga, TORCH[`${name}_grad_${reduction}`], 1e-12, 1e-14, `${name} input grad`);
        close(gb, TORCH[`${name}_tgrad_${reduction}`], 1e-12, 1e-14, `${name} target grad`);
      });
  test('smoothL1Loss with beta 0.3 (both pieces) and beta 0 (l1)', () => {
    const a = f64(A, true);
    const loss = F.smoothL1Loss(a, f64(B), { beta: 0.3, reduction: 'none' });
    close(loss, TORCH.sl1_beta, 1e-12, 1e-14, 'loss');
    close(grads(loss, [a])[0], TORCH.sl1_beta_grad, 1e-12, 1e-14, 'grad');
    close(F.smoothL1Loss(f64(A), f64(B), { beta: 0 }), TORCH.sl1_beta0, 1e-12, 1e-14, 'beta 0');
  });
  test('smoothL1Loss with beta 0 is l1Loss, gradient 0 at input = target included (PyTorch 1.13 gives −1 there)', () => {
    const a = f64([1, 2], true);
    assert.deepEqual(grads(F.smoothL1Loss(a, f64([1, 3]), { beta: 0 }), [a])[0].toArray(), [0, -0.5]);
  });
  test('l1Loss has gradient 0 where input equals target, as in PyTorch', () => {
    const a = f64([1, 2], true);
    assert.deepEqual(grads(F.l1Loss(a, f64([1, 3])), [a])[0].toArray(), [0, -0.5]);
  });
  test('an empty input: mean is nan, sum is 0', () => {
    assert.ok(Number.isNaN(F.mseLoss(ad.zeros([0, 3]), ad.zeros([0, 3])).item()));
    assert.equal(F.mseLoss(ad.zeros([0, 3]), ad.zeros([0, 3]), { reduction: 'sum' }).item(), 0);
  });
});

describe('binaryCrossEntropy', () => {
  test('each log is clamped at −100, and the gradient stays finite at exactly 0 and 1', () => {
    const x = f64([0.0, 1.0, 0.3, 1e-50, 0.9], true);
    const loss = F.binaryCrossEntropy(x, f64([0.0, 0.2, 0.7, 1.0, 0.9]), { reduction: 'none' });
    close(loss, TORCH.bce_none, 1e-12, 1e-14, 'loss');
    close(grads(loss, [x])[0], TORCH.bce_grad, 1e-12, 1e-14, 'grad');
  });
  test('float32 probabilities of exactly 0 and 1 (a saturated sigmoid)', () => {
    const x = ad.tensor([0, 1], { requiresGrad: true });
    const loss = F.binaryCrossEntropy(x, ad.tensor([1, 0]), { reduction: 'none' });
    assert.equal(loss.dtype, 'float32');
    close(loss, TORCH.bce32, 0, 0, 'loss');
    close(grads(loss, [x])[0], TORCH.bce32_grad, 0, 0, 'grad');
  });
  for (const reduction of REDUCTIONS)
    test(`weight broadcast over rows, reduction '${reduction}', input and target gradients`, () => {
      const x = f64(
        [
          [0.2, 0.9, 0.5],
          [0.7, 0.1, 0.35],
        ],
        true,
      );
      const y = f64(
        [
          [0.0, 1.0, 0.5],
          [1.0, 0.0, 0.25],
        ],
        true,
      );
      const loss = F.binaryCrossEntropy(x, y, { weight: f64([[2.0], [0.5]]), reduction });
      close(loss, TORCH[`bcew_${reduction}`], 1e-12, 1e-14, 'loss');
      const [gx, gy] = grads(loss, [x, y]);
      close(gx, TORCH[`bcew_grad_${reduction}`], 1e-12, 1e-14, 'input grad');
      close(gy, TORCH[`bcew_tgrad_${reduction}`], 1e-12, 1e-14, 'target grad');
    });
  test('the gradient at 0 and 1 has a finite second derivative too', () => {
    const x = f64([0.0, 1.0, 0.25], true);
    const [g] = ad.autograd.grad(F.binaryCrossEntropy(x, f64([0.5, 0.5, 0.5]), { reduction: 'sum' }), [x], {
      createGraph: true,
    }) as ad.Tensor[];
    const [h] = ad.autograd.grad(g.sum(), [x]) as ad.Tensor[];
    assert.ok(h.dataSync().every(Number.isFinite), `second derivative ${h.toArray()}`);
  });
});

describe('binaryCrossEntropyWithLogits', () => {
  const LX = [
    [0.5, -1.5, 2.0],
    [-0.25, 3.0, 0.0],
  ];
  const PY = [
    [0.0, 1.0, 0.5],
    [1.0, 0.0, 0.25],
  ];
  for (const reduction of REDUCTIONS)
    test(`weight and posWeight, reduction '${reduction}', input and target gradients`, () => {
      const x = f64(LX, true);
      const y = f64(PY, true);
      const loss = F.binaryCrossEntropyWithLogits(x, y, {
        weight: f64([[2.0], [0.5]]),
        posWeight: f64([2.0, 0.5, 1.5]),
        reduction,
      });
      close(loss, TORCH[`bcel_${reduction}`], 1e-12, 1e-14, 'loss');
      const [gx, gy] = grads(loss, [x, y]);
      close(gx, TORCH[`bcel_grad_${reduction}`], 1e-12, 1e-14, 'input grad');
      close(gy, TORCH[`bcel_tgrad_${reduction}`], 1e-12, 1e-14, 'target grad');
    });
  test('without weights; the gradient at logit 0 is exact (σ(0) − y)', () => {
    const x = f64(LX, true);
    const loss = F.binaryCrossEntropyWithLogits(x, f64(PY));
    close(loss, TORCH.bcel_plain, 1e-12, 1e-14, 'loss');
    close(grads(loss, [x])[0], TORCH.bcel_plain_grad, 1e-12, 1e-14, 'grad');
  });
  test('huge logits: no overflow, no nan', () => {
    const x = f64([1000, -1000, 0, 50, -50], true);
    const loss = F.binaryCrossEntropyWithLogits(x, f64([0, 1, 0.5, 1, 0]), { reduction: 'none' });
    close(loss, TORCH.bcel_big, 1e-12, 1e-14, 'loss');
    // PyTorch's gradient σ(x) − y keeps σ(−50) ≈ 1.9e-22 where the composed one rounds it to 0.
    close(grads(loss, [x])[0], TORCH.bcel_big_grad, 1e-12, 1e-20, 'grad');
    const x32 = ad.tensor([100, -100], { requiresGrad: true });
    const l32 = F.binaryCrossEntropyWithLogits(x32, ad.tensor([0, 1]), {
      posWeight: ad.tensor([3]),
      reduction: 'none',
    });
    close(l32, TORCH.bcel_big32, 0, 0, 'float32 loss');
    close(grads(l32, [x32])[0], TORCH.bcel_big32_grad, 0, 0, 'float32 grad');
  });
});

describe('F.linear', () => {
  const IX = [
    [1.0, 2.0],
    [-1.0, 0.5],
    [0.0, 3.0],
  ];
  const LW = [
    [0.5, -1.0],
    [2.0, 0.25],
    [1.0, 1.0],
    [-0.5, 0.0],
  ];
  test('y = x·Wᵀ + b with weight [out, in]; gradients', () => {
    const x = f64(IX, true);
    const w = f64(LW, true);
    const b = f64([0.1, 0.2, 0.3, 0.4], true);
    const y = F.linear(x, w, b);
    close(y, TORCH.lin, 1e-12, 1e-14, 'value');
    const [gx, gw, gb] = grads(y, [x, w, b]);
    close(gx, TORCH.lin_gx, 1e-12, 1e-14, 'x grad');
    close(gw, TORCH.lin_gw, 1e-12, 1e-14, 'weight grad');
    close(gb, TORCH.lin_gb, 1e-12, 1e-14, 'bias grad');
  });
  test('shapes: no bias, unbatched, batch dims, 1-D weight', () => {
    assert.deepEqual(F.linear(ad.zeros([3, 2]), ad.zeros([4, 2])).shape, [3, 4]);
    assert.deepEqual(F.linear(ad.zeros([2]), ad.zeros([4, 2]), ad.zeros([4])).shape, [4]);
    assert.deepEqual(F.linear(ad.zeros([5, 3, 2]), ad.zeros([4, 2]), ad.zeros([4])).shape, [5, 3, 4]);
    assert.deepEqual(F.linear(ad.zeros([3, 2]), ad.zeros([2])).shape, [3]);
  });
});

describe('the F namespace', () => {
  test('re-exports the ops themselves', () => {
    const pairs: [string, unknown, unknown][] = [
      ['crossEntropy', F.crossEntropy, ad.crossEntropy],
      ['nllLoss', F.nllLoss, ad.nllLoss],
      ['mseLoss', F.mseLoss, ad.mseLoss],
      ['l1Loss', F.l1Loss, ad.l1Loss],
      ['smoothL1Loss', F.smoothL1Loss, ad.smoothL1Loss],
      ['binaryCrossEntropy', F.binaryCrossEntropy, ad.binaryCrossEntropy],
      ['binaryCrossEntropyWithLogits', F.binaryCrossEntropyWithLogits, ad.binaryCrossEntropyWithLogits],
      ['relu', F.relu, ad.relu],
      ['leakyRelu', F.leakyRelu, ad.leakyRelu],
      ['elu', F.elu, ad.elu],
      ['gelu', F.gelu, ad.gelu],
      ['silu', F.silu, ad.silu],
      ['sigmoid', F.sigmoid, ad.sigmoid],
      ['tanh', F.tanh, ad.tanh],
      ['softplus', F.softplus, ad.softplus],
      ['softmax', F.softmax, ad.softmax],
      ['logSoftmax', F.logSoftmax, ad.logSoftmax],
      ['oneHot', F.oneHot, ad.oneHot],
      ['pad', F.pad, ad.pad],
    ];
    for (const [name, f, top] of pairs) assert.equal(f, top, name);
    assert.equal(typeof F.linear, 'function');
  });
  test('a classifier step: F.linear, F.relu, F.crossEntropy', () => {
    ad.manualSeed(0);
    const w = ad.randn([3, 4], { dtype: 'float64' }).requiresGrad_(true);
    const x = ad.randn([5, 4], { dtype: 'float64' });
    const loss = F.crossEntropy(F.relu(F.linear(x, w)), i32([0, 1, 2, 1, 0]));
    loss.backward();
    assert.deepEqual(w.grad?.shape, [3, 4]);
  });
});

describe('loss errors name the op, the shapes, the rule and the fix', () => {
  const x = ad.zeros([8, 10]);
  test('crossEntropy: a target of neither shape', () => {
    const e = assertThrowsMsg(() => F.crossEntropy(x, ad.zeros([7], { dtype: 'int32' })), ad.ShapeError);
    assert.equal(
      e.message,
      'crossEntropy: input is [8, 10] but target is [7]; target must be [8] (class indices) or [8, 10] (probabilities)',
    );
    assertThrowsMsg(
      () => F.crossEntropy(ad.zeros([2, 3, 4, 4]), ad.zeros([2, 3, 4], { dtype: 'int32' })),
      ad.ShapeError,
      'input is [2, 3, 4, 4] but target is [2, 3, 4]',
      'target must be [2, 4, 4] (class indices) or [2, 3, 4, 4] (probabilities)',
      'the classes are dim 1',
    );
    assertThrowsMsg(
      () => F.nllLoss(x, ad.zeros([8, 10])),
      ad.ShapeError,
      'nllLoss: input is [8, 10] but target is [8, 10]; target must be [8] (class indices)',
      'use crossEntropy',
    );
  });
  test('crossEntropy: a class index out of range names the value and its position', () => {
    assertThrowsMsg(
      () => F.crossEntropy(ad.zeros([3, 4]), i32([0, 4, 1])),
      ad.IndexError,
      'crossEntropy: target 4 at position [1] is out of range for 4 classes',
      'input is [3, 4], target is [3]',
      'class indices must be in [0, 3], or equal ignoreIndex (-100)',
    );
    assertThrowsMsg(
      () =>
        F.nllLoss(
          ad.zeros([2, 3, 2]),
          i32([
            [0, 1],
            [-1, 2],
          ]),
        ),
      ad.IndexError,
      'nllLoss: target -1 at position [1, 0]',
    );
    assertThrowsMsg(
      () => F.crossEntropy(ad.zeros([2, 3]), i32([0, -100]), { ignoreIndex: 1 }),
      ad.IndexError,
      'target -100 at position [1]',
      'ignoreIndex (1)',
    );
  });
  test('crossEntropy: float class indices, int probabilities', () => {
    assertThrowsMsg(
      () => F.crossEntropy(x, ad.zeros([8])),
      ad.DTypeError,
      'crossEntropy: target is float32 [8], the shape of class indices for an input of [8, 10]',
      'class indices must be int32',
      'target.int()',
      'or give class probabilities of shape [8, 10]',
    );
    assertThrowsMsg(
      () => F.crossEntropy(x, ad.zeros([8, 10], { dtype: 'int32' })),
      ad.DTypeError,
      'target is int32 [8, 10], the input',
      'must be floating point',
      'target.float()',
      'class indices of shape [8]',
    );
  });
  test('crossEntropy: weight length, options, input', () => {
    assertThrowsMsg(
      () => F.crossEntropy(ad.zeros([2, 3]), i32([0, 1]), { weight: ad.ones([4]) }),
      ad.ShapeError,
      'crossEntropy: weight must be [3], one entry per class (dim 1 of the input), but input is [2, 3], target is [2], weight is [4]',
    );
    assertThrowsMsg(
      () => F.crossEntropy(x, ad.zeros([8], { dtype: 'int32' }), { reduction: 'avg' as 'mean' }),
      ad.ArgumentError,
      "crossEntropy: reduction must be one of 'mean', 'sum', 'none'",
      'got "avg"',
    );
    assertThrowsMsg(
      () => F.crossEntropy(x, ad.zeros([8], { dtype: 'int32' }), { labelSmoothing: 1.5 }),
      ad.ArgumentError,
      'crossEntropy: labelSmoothing must be a finite number in [0, 1], got 1.5',
    );
    assertThrowsMsg(
      () => F.crossEntropy(x, ad.zeros([8], { dtype: 'int32' }), { label_smoothing: 0.1 } as never),
      ad.ValueError,
      "crossEntropy: unknown option 'label_smoothing'",
      'use labelSmoothing',
    );
    assertThrowsMsg(
      () => F.crossEntropy(x, ad.zeros([8, 10]), { ignoreIndex: 3 }),
      ad.ValueError,
      'crossEntropy: ignoreIndex (3) is not supported with class-probability targets',
    );
    assertThrowsMsg(
      () => F.crossEntropy(ad.zeros([]), ad.zeros([], { dtype: 'int32' })),
      ad.ShapeError,
      'crossEntropy: input is 0-d but needs a class dim',
    );
    assertThrowsMsg(
      () => F.crossEntropy(ad.zeros([2, 3], { dtype: 'int32' }), i32([0, 1])),
      ad.DTypeError,
      'crossEntropy: input must be floating point, got int32 (input is [2, 3], target is [2])',
    );
  });
  test('regression losses: shapes must match; beta ≥ 0', () => {
    assertThrowsMsg(
      () => F.mseLoss(ad.zeros([3, 2]), ad.zeros([2])),
      ad.ShapeError,
      'mseLoss: input is [3, 2] but target is [2]; they must have the same shape',
      'target.reshape([3, 2])',
    );
    assertThrowsMsg(() => F.l1Loss(ad.zeros([3]), ad.zeros([3, 1])), ad.ShapeError, 'l1Loss: input is [3]');
    assertThrowsMsg(
      () => F.smoothL1Loss(ad.zeros([3]), ad.zeros([3]), { beta: -1 }),
      ad.ArgumentError,
      'smoothL1Loss: beta must be a finite number ≥ 0, got -1',
    );
    assertThrowsMsg(
      () => F.mseLoss(ad.zeros([3]), ad.zeros([3]), { reduction: 'mean', beta: 1 } as never),
      ad.ValueError,
      "mseLoss: unknown option 'beta'",
    );
  });
  test('binaryCrossEntropy: probabilities in [0, 1], same shapes, weights that broadcast', () => {
    assertThrowsMsg(
      () => F.binaryCrossEntropy(ad.tensor([[0.5], [1.2]]), ad.zeros([2, 1])),
      ad.ValueError,
      'binaryCrossEntropy: input 1.2',
      'at position [1, 0] is not in [0, 1]',
      'binaryCrossEntropyWithLogits',
    );
    assertThrowsMsg(
      () => F.binaryCrossEntropy(ad.zeros([3]), ad.zeros([3, 1])),
      ad.ShapeError,
      'binaryCrossEntropy: input is [3] but target is [3, 1]; they must have the same shape',
    );
    assertThrowsMsg(
      () => F.binaryCrossEntropy(ad.zeros([3, 2]), ad.zeros([3, 2]), { weight: ad.ones([3]) }),
      ad.ShapeError,
      'binaryCrossEntropy: input is [3, 2], target is [3, 2], weight is [3]',
      'must broadcast to the input',
      '[3, 1] per row',
    );
    assertThrowsMsg(
      () => F.binaryCrossEntropyWithLogits(ad.zeros([3, 2]), ad.zeros([3, 2]), { posWeight: ad.ones([3]) }),
      ad.ShapeError,
      'binaryCrossEntropyWithLogits: input is [3, 2], target is [3, 2], posWeight is [3]',
    );
    assertThrowsMsg(
      () => F.binaryCrossEntropyWithLogits(ad.zeros([3, 2]), ad.zeros([3]), {}),
      ad.ShapeError,
      'binaryCrossEntropyWithLogits: input is [3, 2] but target is [3]',
    );
    assertThrowsMsg(
      () => F.binaryCrossEntropyWithLogits(ad.zeros([3]), ad.zeros([3], { dtype: 'int32' })),
      ad.DTypeError,
      'binaryCrossEntropyWithLogits: target must be floating point, got int32',
      'target.float()',
    );
  });
  test('F.linear: feature sizes and bias', () => {
    assertThrowsMsg(
      () => F.linear(ad.zeros([2, 4]), ad.zeros([3, 5])),
      ad.ShapeError,
      'linear: input is [2, 4], weight is [3, 5]',
      "inFeatures = the input's last dim (4)",
      'transpose it',
    );
    assertThrowsMsg(
      () => F.linear(ad.zeros([2, 4]), ad.zeros([3, 4]), ad.zeros([4])),
      ad.ShapeError,
      'linear: input is [2, 4], weight is [3, 4], bias is [4]',
      'the bias must be [3]',
    );
    assertThrowsMsg(
      () => F.linear(ad.zeros([2, 4]), ad.zeros([2, 3, 4])),
      ad.ShapeError,
      'weight must be [outFeatures, inFeatures]',
    );
  });
});

describe("the losses take PyTorch's positional arguments, and refuse its deprecated ones", () => {
  ad.manualSeed(5);
  const x = ad.randn([4, 3], { dtype: 'float64' });
  const t = i32([0, 2, 1, 2]);
  const w = f64([0.5, 1, 2]);
  const vals = (v: ad.Tensor) => Array.from(v.dataSync() as ArrayLike<number>);
  test('weight, ignore_index, reduction, label_smoothing in their places', () => {
    assert.deepEqual(vals(F.crossEntropy(x, t, w)), vals(F.crossEntropy(x, t, { weight: w })));
    assert.deepEqual(
      vals(F.crossEntropy(x, t, null, null, 2, null, 'sum', 0.1)),
      vals(F.crossEntropy(x, t, { ignoreIndex: 2, reduction: 'sum', labelSmoothing: 0.1 })),
    );
    assert.deepEqual(
      vals(F.nllLoss(x, t, w, null, -100, null, 'none')),
      vals(F.nllLoss(x, t, { weight: w, reduction: 'none' })),
    );
    const y = ad.randn([4, 3], { dtype: 'float64' });
    assert.deepEqual(vals(F.mseLoss(x, y, null, null, 'sum')), vals(F.mseLoss(x, y, { reduction: 'sum' })));
    assert.deepEqual(vals(F.smoothL1Loss(x, y, null, null, 'mean', 0.5)), vals(F.smoothL1Loss(x, y, { beta: 0.5 })));
    const p = x.sigmoid();
    const q = y.sigmoid();
    assert.deepEqual(vals(F.binaryCrossEntropy(p, q, w)), vals(F.binaryCrossEntropy(p, q, { weight: w })));
    assert.deepEqual(
      vals(F.binaryCrossEntropyWithLogits(x, q, null, null, null, 'none', w)),
      vals(F.binaryCrossEntropyWithLogits(x, q, { reduction: 'none', posWeight: w })),
    );
  });
  test('size_average and reduce say to use reduction', () => {
    const y = ad.randn([4, 3], { dtype: 'float64' });
    assertThrowsMsg(
      () => F.mseLoss(x, y, { size_average: false } as never),
      ad.ArgumentError,
      "mseLoss: unknown option 'size_average'; use reduction: 'mean' or 'sum'",
    );
    assertThrowsMsg(
      () => F.l1Loss(x, y, { reduce: false } as never),
      ad.ArgumentError,
      'l1Loss: reduce must be null (reduce is deprecated in PyTorch',
      "reduction: 'none'",
    );
    assertThrowsMsg(
      () => F.crossEntropy(x, t, w, false as never),
      ad.ArgumentError,
      'crossEntropy: sizeAverage must be null',
      'got false',
    );
    assertThrowsMsg(() => F.nllLoss(x, t, { ignore_index: 1 } as never), ad.ArgumentError, 'use ignoreIndex');
  });
});
