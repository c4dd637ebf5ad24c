/**
 * @file adjoint on one of its backends (`ad.setBackend`), at one thread count (`ad.setNumThreads`). Every case is
 * synchronous: kernels have finished when the op returns, so nothing is read back inside the timed region.
 */
import * as ad from '../../src/index.js';
import { CHAIN, CONV, LIN, MLP } from '../lib/measure.js';
import { buildModel, type ModelName } from '../lib/models.js';
import type { System } from '../lib/system.js';

function chain(x: ad.Tensor): ad.Tensor {
  for (let i = 0; i < CHAIN.links; i++) x = x.mul(1.0001).add(0.0001);
  return x.sum();
}

export function adjointSystem(backend: string, threads: number): System {
  ad.setBackend(backend);
  ad.setNumThreads(threads);
  ad.manualSeed(0);
  const reference = backend === 'js';
  const sys: System = {
    version: `${backend} backend`,
    notes: [],
    gemm(n, dtype, transA) {
      ad.manualSeed(n);
      // A.mT of a contiguous tensor: a strided view, so the backend's transposed-operand path is what runs.
      const A = transA ? ad.randn([n, n], { dtype }).mT : ad.randn([n, n], { dtype });
      const B = ad.randn([n, n], { dtype });
      return () => A.matmul(B);
    },
    linearFwd() {
      const { X, W, b } = linearInputs();
      return () => X.matmul(W).add(b);
    },
    chainFwd() {
      ad.manualSeed(2);
      const leaf = ad.rand([CHAIN.len]).requiresGrad_();
      return () => chain(leaf);
    },
    chainFwdBwd() {
      ad.manualSeed(2);
      const leaf = ad.rand([CHAIN.len]).requiresGrad_();
      return () => {
        leaf.grad = null;
        chain(leaf).backward();
      };
    },
  };
  if (reference) {
    // The js backend is the slow reference (under a GFLOP/s): only the small cases, so the run stays short (the
    // model steps take seconds each there: `npm run bench:models -- --backend js` times them alone).
    sys.skipReason = 'js reference backend: small cases only';
    sys.gemmMaxN = 256;
    sys.linearOnce = true;
    return sys;
  }
  sys.linearFwdBwd = () => {
    const { X, W, b } = linearInputs();
    const G = ad.randn([LIN.N, LIN.M]);
    return () => {
      for (const t of [X, W, b]) t.grad = null;
      X.matmul(W).add(b).backward(G);
    };
  };
  sys.mlpStep = () => {
    ad.manualSeed(3);
    const [i, h1, h2, o] = MLP.sizes;
    const model = new ad.nn.Sequential(
      new ad.nn.Linear(i, h1),
      new ad.nn.ReLU(),
      new ad.nn.Linear(h1, h2),
      new ad.nn.ReLU(),
      new ad.nn.Linear(h2, o),
    );
    const lossFn = new ad.nn.CrossEntropyLoss();
    const opt = new ad.optim.SGD(model.parameters(), { lr: MLP.lr });
    const x = ad.randn([MLP.batch, i]);
    const y = ad.randint(0, o, [MLP.batch]);
    return () => {
      opt.zeroGrad();
      const loss = lossFn.forward(model.forward(x), y);
      loss.backward();
      opt.step();
    };
  };
  sys.convFwdBwd = () => {
    ad.manualSeed(4);
    const { N, C, O, H, W: Wd, K, pad } = CONV;
    const conv = new ad.nn.Conv2d(C, O, K, { padding: pad });
    const x = ad.randn([N, C, H, Wd]);
    const G = ad.randn([N, O, H, Wd]);
    return () => {
      conv.zeroGrad();
      conv.forward(x).backward(G);
    };
  };
  sys.model = (name) => buildModel(name as ModelName);
  sys.mlpMemory = (steps, scoped) => {
    // One model, data and seed for both variants; the scoped one differs only in running each step in a scope.
    const c = buildModel('mlp');
    const step = scoped ? c.scopedStep : c.step;
    step(); // loads the backend's library and compiles its kernels: part of setup, as importing torch is
    const setup = process.memoryUsage().rss / 2 ** 20;
    for (let i = 0; i < steps; i++) step();
    const peak = process.resourceUsage().maxRSS / 2 ** 10; // KiB on Linux
    return { setupMiB: setup, peakMiB: peak, growthMiB: peak - setup, steps };
  };
  return sys;
}

function linearInputs() {
  ad.manualSeed(1);
  const X = ad.randn([LIN.N, LIN.D]).requiresGrad_();
  const W = ad
    .randn([LIN.D, LIN.M])
    .mul(1 / Math.sqrt(LIN.D))
    .requiresGrad_();
  const b = ad.randn([LIN.M]).requiresGrad_();
  return { X, W, b };
}
