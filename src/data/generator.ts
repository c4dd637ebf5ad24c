/**
 * @file A seeded random generator of its own (torch.Generator), for shuffling that must not depend on, or disturb,
 * the global stream that manualSeed seeds. It runs the same xoshiro128** as core/rng.ts by swapping its state in
 * for the duration of each draw, so there is one algorithm and one implementation.
 */

import { array, checkMethods, custom, fn, int, optional, sig } from '../core/args.js';
import { ValueError } from '../core/errors.js';
import { getRngState, manualSeed, type RandomStream, randomInt, setRngState } from '../core/rng.js';

/** A seed: a whole number, as torch.Generator.manual_seed takes. */
const SEED = int();

/**
 * adjoint's Generator(seed = 0): seeded on construction (a deliberate difference from torch.Generator(device),
 * which is seeded with manual_seed after).
 */
const GENERATOR = sig('Generator', { args: { seed: optional(SEED) } });

export class Generator implements RandomStream {
  private state: number[];

  constructor(seed?: number);
  constructor(...args: unknown[]) {
    const { seed } = GENERATOR.bind(args);
    this.state = [];
    this.manualSeed(seed ?? 0);
  }

  /** Reseeds this generator (torch.Generator.manual_seed); returns this. */
  manualSeed(seed: number): this {
    this.draw(() => manualSeed(seed));
    return this;
  }

  getState(): number[] {
    return this.state.slice();
  }
  setState(state: readonly number[]): void {
    if (state.length !== this.state.length)
      throw new ValueError(
        `Generator.setState: expected the ${this.state.length} numbers getState() returns, got ${state.length}`,
      );
    this.state = state.slice();
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  randperm(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    this.draw(() => {
      for (let i = n - 1; i > 0; i--) {
        const j = randomInt(0, i + 1);
        [p[i], p[j]] = [p[j], p[i]];
      }
    });
    return p;
  }

  /** An integer uniform in [low, high). */
  randint(low: number, high: number): number {
    if (!(high > low))
      throw new ValueError(`Generator.randint: high must be greater than low, got low ${low} and high ${high}`);
    return this.draw(() => randomInt(low, high));
  }

  /**
   * Runs fn with this generator's state as the global one, then puts the global state back: how ops that take a
   * {generator} option (multinomial) draw from it.
   */
  draw<T>(fn: () => T): T {
    const global = getRngState();
    if (this.state.length) setRngState(this.state);
    try {
      return fn();
    } finally {
      this.state = getRngState();
      setRngState(global);
    }
  }
}

GENERATOR.describes(Generator);
checkMethods(Generator, {
  manualSeed: { args: { seed: SEED } },
  draw: { args: { fn } },
  getState: {},
  // The state getState() returns: its last entry is NaN when no spare normal draw is held.
  setState: {
    args: {
      state: array(
        custom('a number', (v) => typeof v === 'number', 'number', 0),
        'an array of numbers',
      ),
    },
  },
  randperm: { args: { n: int({ min: 0 }) } },
  randint: { args: { low: int(), high: int() } },
});
