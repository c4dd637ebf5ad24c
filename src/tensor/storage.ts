/**
 * @file Storage: one backend buffer shared by a tensor and all its views, with the version counter that in-place
 * ops bump and backward checks.
 */

import type { Backend, Buffer } from '../backend/backend.js';
import { activeBackend } from '../backend/index.js';
import type { DType, TypedArray } from '../core/dtype.js';

export class Storage {
  /** Bumped by every in-place write; saved tensors remember it to detect changes before backward. */
  version = 0;
  constructor(
    readonly backend: Backend,
    readonly buf: Buffer,
    readonly dtype: DType,
    readonly size: number,
  ) {}

  static alloc(dtype: DType, n: number): Storage {
    const b = activeBackend();
    return new Storage(b, b.alloc(dtype, n), dtype, n);
  }

  static from(dtype: DType, data: TypedArray): Storage {
    const b = activeBackend();
    const buf = b.alloc(dtype, data.length);
    b.upload(buf, dtype, data);
    return new Storage(b, buf, dtype, data.length);
  }
}
