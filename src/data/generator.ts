/**
 * @file A seeded random generator of its own (torch.Generator), for shuffling that must not depend on, or disturb,
 * the global stream that manualSeed seeds. It runs the same xoshiro128** as core/rng.ts by swapping its state in
 * for the duration of each draw, so there is one algorithm and one implementation.
 */

import { ValueError } from '../core/errors.js';
import { getRngState, manualSeed, type RandomStream, randomInt, setRngState } from '../core/rng.js';

export class Generator implements RandomStream {
  private state: number[];

  constructor(seed = 0) {
    this.state = [];
    this.manualSeed(seed);
  }

  /** Reseeds this generator (torch.Generator.manual_seed); returns this. */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new ValueError(`Generator.manualSeed: the seed must be a number, got ${seed}`);
    this.draw(() => manualSeed(seed));
    return this;
  }

  getState(): number[] {
    return this.state.slice();
  }
  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== this.state.length || !state.every((v) => typeof v === 'number'))
      throw new ValueError(`Generator.setState: expected ${this.state.length} numbers from getState()`);
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
