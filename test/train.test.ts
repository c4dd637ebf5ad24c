/**
 * @file `adjoint train`: one short run of each model on digits as a child process (exit status 0, the epoch and
 * accuracy lines, a well-formed SVG), and in-process: a checkpoint resumed gives bit-identical parameters to the
 * uninterrupted run, the progress output on and off a terminal, the curves' SVG, and bad usage (exit status 2 with
 * a message naming the problem) or missing data (exit status 1 with how to install it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../src/cli/args.js';
import { makeStyle } from '../src/cli/term.js';
import { curvesSvg, type History, niceTicks, type TrainIO, trainCommand } from '../src/cli/train.js';
import * as ad from '../src/index.js';
import { buildModel, MODEL_NAMES } from '../src/models/index.js';
import { cli } from './helpers.js';

const _root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'adjoint-train-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `adjoint train ...args` in this process; returns the exit status, the lines and the bar's redraws. */
function run(args: string[], tty = false): { code: number; out: string; status: string[] } {
  const lines: string[] = [];
  const status: string[] = [];
  let t = 0;
  const io: TrainIO = {
    out: (s) => lines.push(s),
    tty,
    status: (s) => status.push(s),
    columns: 100,
    style: makeStyle(false),
    // A clock that advances 50 ms per reading, so rates and ETAs are finite and every bar update is drawn.
    now: () => (t += 50),
  };
  const code = trainCommand(args, io);
  return { code, out: lines.join('\n'), status };
}

function usageError(args: string[]): string {
  try {
    run(args);
  } catch (e) {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${e}`);
    return e.message;
  }
  assert.fail(`train ${args.join(' ')} did not fail`);
}

/**
 * Well-formed XML as far as an SVG viewer needs: one root <svg>, every tag closed in order, attributes quoted,
 * no stray '<' or '&' in text.
 */
function assertWellFormedSvg(svg: string) {
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^>]*viewBox="0 0 \d+ \d+"/);
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let roots = 0;
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    const text = svg.slice(last, m.index);
    assert.doesNotMatch(text, /<|&(?!(amp|lt|gt|quot|#\d+);)/, `stray markup before ${m[0]}`);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  assert.equal(svg.slice(last).trim(), '', 'text after the last tag');
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1);
}

describe('adjoint train as a command', () => {
  test('each model trains one epoch on 200 digits: exit 0, accuracy lines, curves', async () => {
    const results = await Promise.all(
      MODEL_NAMES.map((m) =>
        cli('train', '--model', m, '--epochs', '1', '--limit', '200', '--curves', join(dir, `${m}.svg`)),
      ),
    );
    results.forEach((r, i) => {
      const m = MODEL_NAMES[i];
      assert.equal(r.code, 0, `${m}: ${r.stderr}${r.stdout}`);
      assert.equal(r.stderr, '');
      assert.match(
        r.stdout,
        new RegExp(`adjoint train {2}${m} on digits: 200 train \\(--limit: the first 200 of 1,438\\)`),
      );
      assert.match(r.stdout, /epoch 1\/1 {2}loss \d\.\d{4} {2}train \d+\.\d\d% {2}test \d+\.\d\d% \(loss \d\.\d{4}\)/);
      assert.match(r.stdout, /done {2}test accuracy \d+\.\d\d% \(\d+\/359\) after 1 epoch,/);
      const svg = readFileSync(join(dir, `${m}.svg`), 'utf8');
      assertWellFormedSvg(svg);
      assert.ok(svg.includes(`adjoint train — ${m} on digits`));
    });
  });

  test('bad usage: exit status 2 and a message naming the option', async () => {
    const r = await cli('train', '--model', 'resnet');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /train: --model must be one of mlp, cnn, rnn, attention, got 'resnet'/);
    assert.match(r.stderr, /Run 'adjoint train --help' for usage/);
    const h = await cli('help', 'train');
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--checkpoint PATH/);
  });
});

describe('checkpoints', () => {
  const modelTensors = (path: string) =>
    Object.entries(ad.io.loadFile(path)).filter(([k]) => k.startsWith('model.') || k.startsWith('optimizer.'));
  const bits = (t: ad.Tensor) => Buffer.from(t.dataSync().buffer).toString('hex');

  for (const [model, extra] of [
    ['mlp', ['--optimizer', 'sgd', '--limit', '150']],
    // Dropout draws from the global RNG, which the checkpoint must restore.
    ['attention', ['--hidden', '8', '--limit', '64', '--optimizer', 'adamw']],
  ] as const) {
    test(`${model}: 2 epochs = 1 epoch, then --resume to 2, bit for bit`, () => {
      const whole = join(dir, `${model}-whole.ckpt`);
      const split = join(dir, `${model}-split.ckpt`);
      const common = ['--model', model, '--batch-size', '16', '--no-curves', ...extra];
      assert.equal(run([...common, '--epochs', '2', '--checkpoint', whole]).code, 0);
      assert.equal(run([...common, '--epochs', '1', '--checkpoint', split]).code, 0);
      // Scramble the global RNG: the resumed run must take it from the checkpoint.
      ad.manualSeed(12345);
      // Options left out come from the checkpoint.
      const r = run(['--checkpoint', split, '--resume', '--epochs', '2', '--no-curves']);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /resumed {5}after epoch 1/);
      assert.match(r.out, /epoch 2\/2/);
      assert.doesNotMatch(r.out, /epoch 1\/2/);
      const a = modelTensors(whole);
      const b = modelTensors(split);
      assert.deepEqual(
        b.map(([k]) => k),
        a.map(([k]) => k),
      );
      assert.ok(a.length > 4);
      for (const [i, [k, t]] of a.entries()) assert.equal(bits(b[i][1]), bits(t), `${k} differs`);
    });
  }

  test('resume: the options must match the checkpoint; epochs already done is not an error', () => {
    const path = join(dir, 'clash.ckpt');
    assert.equal(run(['--epochs', '1', '--limit', '50', '--checkpoint', path, '--no-curves']).code, 0);
    assert.match(
      usageError(['--checkpoint', path, '--resume', '--lr', '0.5', '--model', 'mlp', '--hidden', '64']),
      /--resume continues the run saved in .*clash\.ckpt, but --lr 0\.5 \(the checkpoint has 0\.01\), --hidden 64 \(the checkpoint has 128\); leave these options out/,
    );
    const r = run(['--checkpoint', path, '--resume', '--no-curves']);
    assert.equal(r.code, 0);
    assert.match(r.out, /already trained 1 epoch;/);
  });

  test('resume from a missing file, or from a file that is not a checkpoint', () => {
    assert.match(usageError(['--resume']), /--resume needs --checkpoint PATH/);
    assert.match(
      usageError(['--resume', '--checkpoint', join(dir, 'none.ckpt')]),
      /there is no checkpoint at .*none\.ckpt; run without --resume/,
    );
    const weights = join(dir, 'weights.safetensors');
    ad.io.saveFile({ w: ad.zeros([2]) }, weights);
    const r = run(['--resume', '--checkpoint', weights]);
    assert.equal(r.code, 1);
    assert.match(r.out, /is not a checkpoint written by 'adjoint train'/);
  });
});

describe('options', () => {
  test('bad values and combinations are usage errors that say what is expected', () => {
    assert.match(usageError(['--lr', '-1']), /--lr must be a number > 0, got '-1'/);
    assert.match(usageError(['--lr', '0']), /--lr must be a number > 0/);
    assert.match(usageError(['--epochs', '0']), /--epochs must be a whole number ≥ 1/);
    assert.match(usageError(['--optimizer', 'rmsprop']), /--optimizer must be one of sgd, adam, adamw/);
    assert.match(usageError(['--lr-decay', '2']), /--lr-decay must be a number in \(0, 1\], got '2'/);
    assert.match(
      usageError(['--model', 'cnn', '--hidden', '8']),
      /--hidden for cnn is the two convolutions’ output channels: 2/,
    );
    assert.match(usageError(['--momentum', '0.5']), /--momentum is SGD's; adam has no momentum option/);
    assert.match(usageError(['--cell', 'lstm']), /--cell chooses the rnn model's cell; --model is mlp/);
    assert.match(usageError(['--epoch', '3']), /unknown option '--epoch' \(did you mean --epochs\?\)/);
    assert.match(usageError(['--curves', 'a.svg', '--no-curves']), /--curves PATH or --no-curves, not both/);
  });

  test('a missing Fashion-MNIST says how to install it (exit status 1)', () => {
    const r = run(['--dataset', 'fashion-mnist', '--data-dir', join(dir, 'nowhere'), '--no-curves']);
    assert.equal(r.code, 1);
    assert.match(r.out, /Fashion-MNIST is not installed: .*nowhere has no train-images-idx3-ubyte\.gz/);
    assert.match(r.out, /sudo apt-get install dataset-fashion-mnist/);
  });

  test('--help prints the options and the defaults', () => {
    const r = run(['--help']);
    assert.equal(r.code, 0);
    for (const s of [
      '--model NAME',
      '--resume',
      '--limit N',
      'cnn       digits',
      'apt-get install dataset-fashion-mnist',
    ])
      assert.ok(r.out.includes(s), s);
  });
});

describe('progress', () => {
  test('not a terminal: a line every tenth of a long epoch, then the epoch line', () => {
    const r = run(['--epochs', '1', '--batch-size', '8', '--limit', '800', '--no-curves']);
    assert.equal(r.code, 0);
    assert.deepEqual(r.status, []);
    const steps = r.out.split('\n').filter((l) => /^ {2}epoch 1\/1 {2}step \d+\/100/.test(l));
    assert.equal(steps.length, 9);
    assert.match(steps[0], /step 10\/100 {2}loss \d\.\d{4} {2}\d+\.\d steps\/s {2}ETA \d+:\d\d/);
  });

  test('on a terminal: a bar with steps/s, loss and ETA, cleared before the epoch line', () => {
    const r = run(['--epochs', '2', '--limit', '64', '--batch-size', '16', '--no-curves'], true);
    assert.equal(r.code, 0);
    assert.match(r.status[0], /^epoch 1\/2 █+[▏▎▍▌▋▊▉]? +1\/4 · \d+\.\d steps\/s · loss \d\.\d{4} · ETA \d+:\d\d$/);
    assert.ok(r.status.includes(''));
    assert.ok(r.status.some((s) => s.startsWith('epoch 2/2') && s.includes('4/4')));
    assert.doesNotMatch(r.out, /step \d/);
  });
});

describe('curves', () => {
  test('SVG: two panels, legends, ticks, escaped text', () => {
    const history: History = {
      stepsPerEpoch: 3,
      stepLoss: [2.3, 1.5, 0.9, 0.7, 0.5, 0.4],
      epochs: [
        { epoch: 1, trainLoss: 1.6, trainAcc: 0.55, testLoss: 0.8, testAcc: 0.8, lr: 0.1, elapsed: 1 },
        { epoch: 2, trainLoss: 0.5, trainAcc: 0.9, testLoss: 0.45, testAcc: 0.91, lr: 0.08, elapsed: 2 },
      ],
    };
    const svg = curvesSvg(history, { title: 'a <b> & c', subtitle: 'sub' });
    assertWellFormedSvg(svg);
    for (const s of ['a &lt;b&gt; &amp; c', 'cross-entropy loss', 'accuracy', 'train, per step', 'train, epoch mean'])
      assert.ok(svg.includes(s), s);
    assert.ok(svg.includes('>50%<') && svg.includes('>100%<'), 'accuracy ticks from 50% to 100%');
    assert.ok(svg.includes('>2.5<'), 'the loss axis reaches above the largest loss');
    assert.equal((svg.match(/<polyline/g) ?? []).length, 5);
    assertWellFormedSvg(curvesSvg({ stepsPerEpoch: 1, stepLoss: [], epochs: [] }, { title: 'empty' }));
  });

  test('niceTicks: 1-2-5 steps covering the range', () => {
    assert.deepEqual(niceTicks(0, 2.3, 5), [0, 0.5, 1, 1.5, 2, 2.5]);
    assert.deepEqual(niceTicks(0.7, 1, 5), [0.7, 0.8, 0.9, 1]);
    assert.deepEqual(niceTicks(0.5, 1, 5), [0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    assert.deepEqual(niceTicks(0, 10, 8, true), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(0, 1, 1, true), [0, 1]);
  });
});

describe('models', () => {
  test('state-dict keys as the same PyTorch modules name them', () => {
    ad.manualSeed(0);
    const digits = { channels: 1, height: 8, width: 8, classes: 10 };
    const keys = (m: ad.nn.Module) => Object.keys(m.stateDict());
    assert.deepEqual(keys(buildModel('mlp', digits, { hidden: [16, 8] })), [
      '1.weight',
      '1.bias',
      '3.weight',
      '3.bias',
      '5.weight',
      '5.bias',
    ]);
    const cnn = buildModel('cnn', { ...digits, height: 28, width: 28 }, { hidden: [4, 6] });
    assert.deepEqual(keys(cnn), ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias']);
    assert.deepEqual(cnn.stateDict()['7.weight'].shape, [10, 6 * 7 * 7]);
    assert.deepEqual(keys(buildModel('rnn', digits, { hidden: [5], cell: 'lstm' })).slice(0, 2), [
      'rnn.weight_ih_l0',
      'rnn.weight_hh_l0',
    ]);
    const attn = keys(buildModel('attention', digits, { hidden: [8] }));
    // A module's own parameters come before its children's, in PyTorch's state_dict too.
    assert.deepEqual(attn.slice(0, 4), [
      'pos_embedding',
      'embed.weight',
      'embed.bias',
      'encoder.self_attn.in_proj_weight',
    ]);
    for (const m of MODEL_NAMES) {
      const out = ad.noGrad(() =>
        buildModel(m, digits, { hidden: m === 'cnn' ? [2, 3] : [4] }).call(ad.rand([3, 1, 8, 8])),
      );
      assert.deepEqual(out.shape, [3, 10], m);
    }
  });
});
