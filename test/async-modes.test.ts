/**
 * @file Grad mode, anomaly mode and forward-AD levels are scoped per async context: `await noGrad(async () => …)`
 * keeps recording off across every await of fn, and async work interleaved with it (another training loop) keeps
 * its own modes. Without AsyncLocalStorage (a browser; here a child Node process with it removed) the documented
 * rule holds instead: synchronous scopes are exact, an async fn's mode lasts until its first await, with a warning.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ad from '../src/index.js';

/** Lets other tasks run: a macrotask, so timers and other async functions interleave with the caller. */
const tick = () => new Promise<void>((r) => setTimeout(r, 0));

/** Records whether an op on a leaf records the graph, at each step of an async function. */
const recording = (w: ad.Tensor) => w.mul(2).requiresGrad;

/** Collects console.warn calls while fn runs (awaited). */
async function warnings(fn: () => unknown): Promise<string[]> {
  const seen: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void seen.push(a.join(' '));
  try {
    await fn();
  } finally {
    console.warn = warn;
  }
  return seen;
}

describe('grad mode across awaits', () => {
  test('await noGrad(async fn) keeps recording off for the whole of fn, and on again after', async () => {
    const w = ad.tensor([1, 2]).requiresGrad_();
    const seen: boolean[] = [];
    const r = await ad.noGrad(async () => {
      seen.push(recording(w));
      await tick();
      seen.push(recording(w));
      await Promise.resolve();
      seen.push(recording(w));
      await new Promise((res) => setImmediate(res));
      seen.push(ad.isGradEnabled());
      return w.mul(3);
    });
    assert.deepEqual(seen, [false, false, false, false]);
    assert.equal(r.requiresGrad, false);
    assert.equal(ad.isGradEnabled(), true);
    assert.equal(recording(w), true);
  });

  test('interleaved async loops see their own modes: evaluation under noGrad, training recording', async () => {
    ad.manualSeed(3);
    const make = () => new ad.nn.Linear(3, 2);
    const x = ad.randn([4, 3]);
    const y = ad.randn([4, 2]);
    const trainModel = make();
    const reference = make();
    reference.loadStateDict(trainModel.stateDict());
    const evalModel = make();
    const log: string[] = [];

    const train = async (model: ad.nn.Linear, steps: number, pause: boolean) => {
      const opt = new ad.optim.SGD(model.parameters(), { lr: 0.1 });
      for (let s = 0; s < steps; s++) {
        opt.zeroGrad();
        const loss = ad.F.mseLoss(model.forward(x), y);
        if (pause) await tick(); // the evaluation loop runs here, between forward and backward
        log.push(`train ${loss.requiresGrad}`);
        loss.backward();
        opt.step();
        if (pause) await tick();
      }
    };
    const evaluate = () =>
      ad.noGrad(async () => {
        for (let s = 0; s < 4; s++) {
          const out = evalModel.forward(x);
          log.push(`eval ${out.requiresGrad}`);
          await tick();
        }
      });
    await Promise.all([train(trainModel, 4, true), evaluate()]);
    assert.ok(log.includes('eval false') && log.includes('train true'));
    assert.ok(!log.includes('eval true') && !log.includes('train false'), log.join(', '));
    // Interleaving changed nothing: the same steps run alone give the same weights.
    await train(reference, 4, false);
    assert.deepEqual(
      trainModel.parameters().map((p) => Array.from(p.dataSync())),
      reference.parameters().map((p) => Array.from(p.dataSync())),
    );
  });

  test('enableGrad(async fn) inside noGrad records across its awaits; the noGrad part stays off', async () => {
    const w = ad.tensor([1]).requiresGrad_();
    const seen: boolean[] = [];
    await ad.noGrad(async () => {
      await ad.enableGrad(async () => {
        await tick();
        seen.push(recording(w));
      });
      seen.push(recording(w));
      await tick();
      seen.push(recording(w));
    });
    assert.deepEqual(seen, [true, false, false]);
  });

  test('setGradEnabled inside an async scope changes that scope only, across its awaits', async () => {
    const w = ad.tensor([1]).requiresGrad_();
    const seen: string[] = [];
    const other = (async () => {
      for (let i = 0; i < 3; i++) {
        seen.push(`other ${recording(w)}`);
        await tick();
      }
    })();
    await ad.enableGrad(async () => {
      ad.setGradEnabled(false);
      await tick();
      seen.push(`scope ${recording(w)}`);
      await tick();
      seen.push(`scope ${recording(w)}`);
    });
    await other;
    assert.deepEqual(
      seen.filter((s) => s.startsWith('scope')),
      ['scope false', 'scope false'],
    );
    assert.ok(seen.filter((s) => s.startsWith('other')).every((s) => s === 'other true'));
    assert.equal(ad.isGradEnabled(), true);
  });

  test('a scope whose async fn rejects restores nothing it did not own and passes the error on', async () => {
    await assert.rejects(
      ad.noGrad(async () => {
        await tick();
        throw new RangeError('inside');
      }),
      RangeError,
    );
    assert.equal(ad.isGradEnabled(), true);
    assert.throws(
      () =>
        ad.noGrad(() => {
          throw new RangeError('sync');
        }),
      RangeError,
    );
    assert.equal(ad.isGradEnabled(), true);
  });

  test('a plain function returning a promise: scoped until its first await, one warning naming the fix', async () => {
    const w = ad.tensor([1]).requiresGrad_();
    const seen: boolean[] = [];
    const later = async () => {
      seen.push(recording(w));
      await tick();
      seen.push(recording(w));
    };
    const warned = await warnings(async () => {
      await ad.noGrad(() => later());
      await ad.noGrad(() => later());
    });
    assert.deepEqual(seen, [false, true, false, true]);
    assert.equal(warned.length, 1, warned.join('\n'));
    assert.match(warned[0], /noGrad\(fn\): fn is not an async function but returned a promise.*noGrad\(async \(\) =>/);
  });
});

describe('anomaly mode and forward-AD levels across awaits', () => {
  test('detectAnomaly(async fn) checks fn across its awaits and not the unrelated work running meanwhile', async () => {
    const zero = ad.tensor([0]);
    let otherResult = '';
    const other = (async () => {
      await tick();
      // log(0) is -Infinity from a finite input: an AnomalyError in anomaly mode, a value outside it.
      otherResult = String(zero.log().item());
    })();
    await assert.rejects(
      ad.detectAnomaly(async () => {
        assert.equal(ad.isAnomalyEnabled(), true);
        await tick();
        await tick();
        assert.equal(ad.isAnomalyEnabled(), true);
        zero.log();
      }),
      (e: Error) => e instanceof ad.AnomalyError && /^log: produced a non-finite output/.test(e.message),
    );
    await other;
    assert.equal(otherResult, '-Infinity');
    assert.equal(ad.isAnomalyEnabled(), false);
  });

  test('setDetectAnomaly inside an async scope returns the previous setting and stays in the scope', async () => {
    await ad.noGrad(async () => {
      assert.equal(ad.setDetectAnomaly(true), false);
      await tick();
      assert.equal(ad.isAnomalyEnabled(), true);
    });
    assert.equal(ad.isAnomalyEnabled(), false);
  });

  test('forwardAD(async fn): duals made after an await carry tangents; concurrent work has no level', async () => {
    const x = ad.tensor([1, 2, 3], { dtype: 'float64' });
    const t = ad.tensor([1, 0, 1], { dtype: 'float64' });
    let otherLevelError: unknown = null;
    const other = (async () => {
      await tick();
      try {
        ad.makeDual(x, t);
      } catch (e) {
        otherLevelError = e;
      }
    })();
    const jvp = await ad.forwardAD(async () => {
      await tick();
      const d = ad.makeDual(x, t);
      await tick();
      const y = d.mul(d).sum();
      await tick();
      return ad.unpackDual(y).tangent!.item();
    });
    await other;
    assert.equal(jvp, 2 * 1 + 2 * 3); // d/dε Σ (x + εt)² = 2⟨x, t⟩
    assert.ok(otherLevelError instanceof ad.AutogradError, String(otherLevelError));
    assert.match((otherLevelError as Error).message, /makeDual: call it inside forwardAD/);
  });
});

describe('mode functions check their arguments', () => {
  test('a non-function scope or a non-boolean mode is an ArgumentError, and the mode is unchanged', () => {
    for (const [f, name] of [
      [ad.noGrad, 'noGrad'],
      [ad.enableGrad, 'enableGrad'],
      [ad.detectAnomaly, 'detectAnomaly'],
      [ad.forwardAD, 'forwardAD'],
    ] as const) {
      assert.throws(
        () => (f as (x: unknown) => unknown)(5),
        (e: Error) => e instanceof ad.ArgumentError && e.message.startsWith(`${name}: fn must be a function, got 5`),
      );
    }
    assert.throws(
      () => ad.setGradEnabled('no' as never),
      (e: Error) => e instanceof ad.ArgumentError && /^setGradEnabled: mode must be a boolean.*"no"/.test(e.message),
    );
    assert.equal(ad.isGradEnabled(), true);
    assert.throws(() => ad.setDetectAnomaly(1 as never), ad.ArgumentError);
    assert.equal(ad.isAnomalyEnabled(), false);
  });
});

describe('without AsyncLocalStorage (as in a browser)', () => {
  test('sync scopes are exact; an async fn keeps its mode until its first await, with one warning', () => {
    const src = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    // What a browser lacks: process.getBuiltinModule (so node:async_hooks is out of reach) and a global ALS.
    const code = `delete process.getBuiltinModule; const ad = await import(${JSON.stringify(src)});
      const warned = []; console.warn = (m) => warned.push(m);
      const w = ad.tensor([1]).requiresGrad_();
      const rec = () => w.mul(2).requiresGrad;
      const tick = () => new Promise((r) => setTimeout(r, 0));
      const seen = {};
      seen.sync = ad.noGrad(() => [rec(), ad.enableGrad(() => rec()), rec()]);
      seen.afterSync = rec();
      const p = ad.noGrad(async () => { const a = rec(); await tick(); return [a, rec()]; });
      seen.whilePending = rec();
      seen.async = await p;
      await ad.noGrad(async () => { await tick(); });
      seen.anomaly = await ad.detectAnomaly(async () => {
        const a = ad.isAnomalyEnabled(); await tick(); return [a, ad.isAnomalyEnabled()];
      });
      seen.warned = warned;
      console.log(JSON.stringify(seen));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.deepEqual(seen.sync, [false, true, false]);
    assert.equal(seen.afterSync, true);
    assert.equal(seen.whilePending, true, 'the mode must not leak out of the scope while fn is pending');
    assert.deepEqual(seen.async, [false, true], 'the mode holds until the first await, then is the caller’s');
    assert.deepEqual(seen.anomaly, [true, false]);
    assert.equal(seen.warned.length, 1, seen.warned.join('\n'));
    assert.match(seen.warned[0], /noGrad\(async fn\): this runtime has no AsyncLocalStorage.*first await/);
    assert.match(seen.warned[0], /noGrad\(\(\) => work\(x\)\)/);
  });
});
