/**
 * @file A small WebAssembly assembler: enough of the binary format (types, one imported memory, functions, exports)
 * and of the instruction set (i32, f32/f64, 128-bit SIMD and relaxed SIMD) to generate the wasm backend's kernels at
 * run time from TypeScript. No toolchain is needed at install, and variants (f32/f64, relaxed fused multiply-add or
 * plain SIMD, tile sizes) are loops in the generator rather than copies of the source.
 */

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

function uleb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: number): void {
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function str(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  out.push(...bytes);
}

/** A local variable (parameters first, then declared locals), referred to by index. */
export type Local = number & { readonly __local: unique symbol };

/** SIMD opcodes (after the 0xfd prefix) that the kernels use. */
const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  load64Splat: 0x0a,
  load32Zero: 0x5c,
  store: 0x0b,
  'f32x4.splat': 0x13,
  'f64x2.splat': 0x14,
  'f32x4.extract_lane': 0x1f,
  'f64x2.extract_lane': 0x21,
  'f32x4.abs': 0xe0,
  'f32x4.neg': 0xe1,
  'f32x4.sqrt': 0xe3,
  'f32x4.add': 0xe4,
  'f32x4.sub': 0xe5,
  'f32x4.mul': 0xe6,
  'f32x4.div': 0xe7,
  'f32x4.min': 0xe8,
  'f32x4.max': 0xe9,
  'f32x4.pmin': 0xea,
  'f32x4.pmax': 0xeb,
  'f64x2.abs': 0xec,
  'f64x2.neg': 0xed,
  'f64x2.sqrt': 0xef,
  'f64x2.add': 0xf0,
  'f64x2.sub': 0xf1,
  'f64x2.mul': 0xf2,
  'f64x2.div': 0xf3,
  'f64x2.min': 0xf4,
  'f64x2.max': 0xf5,
  'f64x2.pmax': 0xf7,
  'i8x16.splat': 0x0f,
  'f32x4.eq': 0x41,
  'f32x4.ne': 0x42,
  'f32x4.lt': 0x43,
  'f32x4.gt': 0x44,
  'f32x4.le': 0x45,
  'f32x4.ge': 0x46,
  'v128.and': 0x4e,
  'v128.or': 0x50,
  'v128.bitselect': 0x52,
  'i32x4.splat': 0x11,
  'i32x4.eq': 0x37,
  'i32x4.lt_s': 0x39,
  'i32x4.add': 0xae,
  'i32x4.sub': 0xb1,
  'i8x16.narrow_i16x8_s': 0x65,
  'i16x8.narrow_i32x4_s': 0x85,
  'i16x8.extend_low_i8x16_u': 0x89,
  'i32x4.extend_low_i16x8_u': 0xa9,
  'f32x4.convert_i32x4_u': 0xfb,
  'f32x4.nearest': 0x6a,
  'i32x4.shl': 0xab,
  'i32x4.shr_s': 0xac,
  'f64x2.promote_low_f32x4': 0x5f,
  'f32x4.demote_f64x2_zero': 0x5e,
  'i32x4.trunc_sat_f32x4_s': 0xf8,
  'f32x4.relaxed_madd': 0x105,
  'f64x2.relaxed_madd': 0x107,
} as const;
export type SimdOp = keyof typeof SIMD;

/** Plain opcodes by their text-format names. */
const OP = {
  unreachable: 0x00,
  nop: 0x01,
  else: 0x05,
  end: 0x0b,
  return: 0x0f,
  drop: 0x1a,
  select: 0x1b,
  'i32.eqz': 0x45,
  'i32.eq': 0x46,
  'i32.ne': 0x47,
  'i32.lt_s': 0x48,
  'i32.lt_u': 0x49,
  'i32.gt_s': 0x4a,
  'i32.gt_u': 0x4b,
  'i32.le_s': 0x4c,
  'i32.ge_s': 0x4e,
  'i32.ge_u': 0x4f,
  'i32.add': 0x6a,
  'i32.sub': 0x6b,
  'i32.mul': 0x6c,
  'i32.div_s': 0x6d,
  'i32.div_u': 0x6e,
  'i32.and': 0x71,
  'i32.or': 0x72,
  'i32.shl': 0x74,
  'i32.shr_s': 0x75,
  'i32.shr_u': 0x76,
  'f32.abs': 0x8b,
  'f32.neg': 0x8c,
  'f32.sqrt': 0x91,
  'f32.add': 0x92,
  'f32.sub': 0x93,
  'f32.mul': 0x94,
  'f32.div': 0x95,
  'f32.min': 0x96,
  'f32.max': 0x97,
  'f64.abs': 0x99,
  'f64.neg': 0x9a,
  'f64.sqrt': 0x9f,
  'f64.add': 0xa0,
  'f64.sub': 0xa1,
  'f64.mul': 0xa2,
  'f64.div': 0xa3,
  'f64.min': 0xa4,
  'f64.max': 0xa5,
  'f32.lt': 0x5d,
  'f32.gt': 0x5e,
  'f64.lt': 0x63,
  'f64.gt': 0x64,
  'f64.ne': 0x62,
  'f32.ne': 0x5c,
  'f32.eq': 0x5b,
  'f32.le': 0x5f,
  'f32.ge': 0x60,
  'f64.promote_f32': 0xbb,
  'f32.convert_i32_u': 0xb3,
  'f64.convert_i32_s': 0xb7,
  'f32.demote_f64': 0xb6,
} as const;
export type PlainOp = keyof typeof OP;

/** The body of one function under construction: each method appends one instruction and returns `this`. */
export class Code {
  readonly bytes: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(readonly params: readonly ValType[]) {}

  /** Declares a new local of the given type. */
  local(type: ValType): Local {
    this.localTypes.push(type);
    return (this.params.length + this.localTypes.length - 1) as Local;
  }

  /** The i-th parameter. */
  param(i: number): Local {
    return i as Local;
  }

  op(name: PlainOp): this {
    this.bytes.push(OP[name]);
    return this;
  }

  simd(name: SimdOp): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, SIMD[name]);
    return this;
  }

  get(l: Local): this {
    this.bytes.push(0x20);
    uleb(this.bytes, l);
    return this;
  }

  set(l: Local): this {
    this.bytes.push(0x21);
    uleb(this.bytes, l);
    return this;
  }

  tee(l: Local): this {
    this.bytes.push(0x22);
    uleb(this.bytes, l);
    return this;
  }

  i32(v: number): this {
    this.bytes.push(0x41);
    sleb(this.bytes, v | 0);
    return this;
  }

  f32(v: number): this {
    this.bytes.push(0x43);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.bytes.push(...b);
    return this;
  }

  f64(v: number): this {
    this.bytes.push(0x44);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.bytes.push(...b);
    return this;
  }

  /** An extract_lane instruction with its lane index. */
  extract(name: 'f32x4.extract_lane' | 'f64x2.extract_lane', lane: number): this {
    this.simd(name);
    this.bytes.push(lane);
    return this;
  }

  /** i8x16.shuffle: the 16 result bytes picked from the two vectors on the stack (0–15 the first, 16–31 the second). */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31))
      throw new Error(`asm: i8x16.shuffle needs 16 byte lanes in 0..31, got [${lanes}]`);
    this.bytes.push(0xfd);
    uleb(this.bytes, 0x0d);
    this.bytes.push(...lanes);
    return this;
  }

  /** v128.const of four i32 lanes. */
  i32x4(lanes: readonly [number, number, number, number]): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, 0x0c);
    this.bytes.push(...new Uint8Array(new Int32Array(lanes).buffer));
    return this;
  }

  /** A memory access: `f32.load` etc. with a constant byte offset; alignment is a hint, kept natural. */
  mem(
    name: 'i32.load' | 'i32.load8_u' | 'f32.load' | 'f64.load' | 'i32.store' | 'i32.store8' | 'f32.store' | 'f64.store',
    offset = 0,
  ): this {
    const code = {
      'i32.load': 0x28,
      'i32.load8_u': 0x2d,
      'f32.load': 0x2a,
      'f64.load': 0x2b,
      'i32.store': 0x36,
      'i32.store8': 0x3a,
      'f32.store': 0x38,
      'f64.store': 0x39,
    }[name];
    this.bytes.push(code);
    uleb(this.bytes, name.startsWith('f64') ? 3 : name === 'i32.load8_u' || name === 'i32.store8' ? 0 : 2);
    uleb(this.bytes, offset);
    return this;
  }

  /** v128.load / v128.store / load-and-splat / load32_zero with a constant byte offset. */
  vmem(name: 'load' | 'store' | 'load32Splat' | 'load64Splat' | 'load32Zero', offset = 0): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, SIMD[name]);
    uleb(this.bytes, name === 'load32Splat' || name === 'load32Zero' ? 2 : name === 'load64Splat' ? 3 : 4);
    uleb(this.bytes, offset);
    return this;
  }

  call(fn: number): this {
    this.bytes.push(0x10);
    uleb(this.bytes, fn);
    return this;
  }

  block(body: (c: this) => void): this {
    this.bytes.push(0x02, 0x40);
    body(this);
    this.bytes.push(0x0b);
    return this;
  }

  loop(body: (c: this) => void): this {
    this.bytes.push(0x03, 0x40);
    body(this);
    this.bytes.push(0x0b);
    return this;
  }

  /** `if` on the i32 on the stack, with an optional else branch. */
  if(then: (c: this) => void, otherwise?: (c: this) => void): this {
    this.bytes.push(0x04, 0x40);
    then(this);
    if (otherwise) {
      this.bytes.push(0x05);
      otherwise(this);
    }
    this.bytes.push(0x0b);
    return this;
  }

  br(depth: number): this {
    this.bytes.push(0x0c);
    uleb(this.bytes, depth);
    return this;
  }

  brIf(depth: number): this {
    this.bytes.push(0x0d);
    uleb(this.bytes, depth);
    return this;
  }

  /**
   * `for (i = start; i < end; i += step) body` over i32 locals, as block { loop { br_if exit; body; i += step; br } }.
   * `start` and `end` push an i32; the body must leave the stack as it found it.
   */
  for(i: Local, start: (c: this) => void, end: Local, step: number, body: (c: this) => void): this {
    start(this);
    this.set(i);
    return this.block((c) =>
      c.loop((c) => {
        c.get(i).get(end).op('i32.ge_s').brIf(1);
        body(c);
        c.get(i).i32(step).op('i32.add').set(i).br(0);
      }),
    );
  }

  encodeBody(): number[] {
    const out: number[] = [];
    // Locals are run-length encoded by type.
    const runs: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(out, runs.length);
    for (const [n, t] of runs) {
      uleb(out, n);
      out.push(VALTYPE[t]);
    }
    out.push(...this.bytes, 0x0b);
    const sized: number[] = [];
    uleb(sized, out.length);
    return sized.concat(out);
  }
}

interface FnDef {
  name: string | null;
  params: ValType[];
  results: ValType[];
  code: Code;
}

/** A module with one imported memory ("env", "memory") and functions, some exported by name. */
export class ModuleBuilder {
  private readonly fns: FnDef[] = [];

  constructor(private readonly shared: boolean) {}

  /** Declares a function (its index is returned at once, so functions can call ones defined later). */
  fn(name: string | null, params: ValType[], results: ValType[], body: (c: Code) => void): number {
    const code = new Code(params);
    const index = this.fns.length;
    this.fns.push({ name, params, results, code });
    body(code);
    return index;
  }

  /** Declares the function's index first and its body later (for mutual references). */
  declare(
    name: string | null,
    params: ValType[],
    results: ValType[],
  ): { index: number; define: (body: (c: Code) => void) => void } {
    const code = new Code(params);
    const index = this.fns.length;
    this.fns.push({ name, params, results, code });
    return { index, define: (body) => body(code) };
  }

  encode(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, body: number[]) => {
      out.push(id);
      uleb(out, body.length);
      out.push(...body);
    };
    // Types: one per function (duplicates are allowed and keep the indexing trivial).
    const types: number[] = [];
    uleb(types, this.fns.length);
    for (const f of this.fns) {
      types.push(0x60);
      uleb(types, f.params.length);
      for (const p of f.params) types.push(VALTYPE[p]);
      uleb(types, f.results.length);
      for (const r of f.results) types.push(VALTYPE[r]);
    }
    section(1, types);
    const imports: number[] = [];
    uleb(imports, 1);
    str(imports, 'env');
    str(imports, 'memory');
    imports.push(0x02);
    if (this.shared) {
      imports.push(0x03);
      uleb(imports, 1);
      uleb(imports, 65536);
    } else {
      imports.push(0x00);
      uleb(imports, 1);
    }
    section(2, imports);
    const funcs: number[] = [];
    uleb(funcs, this.fns.length);
    for (let i = 0; i < this.fns.length; i++) uleb(funcs, i);
    section(3, funcs);
    const exports: number[] = [];
    const named = this.fns.map((f, i) => [f.name, i] as const).filter(([n]) => n !== null);
    uleb(exports, named.length);
    for (const [n, i] of named) {
      str(exports, n as string);
      exports.push(0x00);
      uleb(exports, i);
    }
    section(7, exports);
    const code: number[] = [];
    uleb(code, this.fns.length);
    for (const f of this.fns) code.push(...f.code.encodeBody());
    section(10, code);
    return new Uint8Array(out);
  }
}

/** A module's exports, by name. */
export type Exports = Record<string, (...args: number[]) => void>;

/**
 * A module of single-threaded kernels over a private memory, built at first use: `staging(bytes)` builds it if need
 * be, grows its memory to at least `bytes` and returns that memory's buffer (null where the engine refuses the module,
 * e.g. without SIMD, or the memory cannot grow: callers then fall back to JS); `fns` are its exports once staged.
 */
export function privateModule(define: (mod: ModuleBuilder) => void): {
  staging(bytes: number): ArrayBuffer | null;
  readonly fns: Exports;
} {
  let built: { memory: WebAssembly.Memory; fns: Exports } | null | undefined;
  return {
    staging(bytes) {
      if (built === undefined) {
        try {
          const mod = new ModuleBuilder(false);
          define(mod);
          const memory = new WebAssembly.Memory({ initial: 16, maximum: 32768 });
          const inst = new WebAssembly.Instance(new WebAssembly.Module(mod.encode() as BufferSource), {
            env: { memory },
          });
          built = { memory, fns: inst.exports as Exports };
        } catch {
          built = null;
        }
      }
      if (!built) return null;
      const have = built.memory.buffer.byteLength;
      if (bytes > have) {
        try {
          built.memory.grow(Math.ceil((bytes - have) / 65536));
        } catch {
          return null;
        }
      }
      return built.memory.buffer;
    },
    get fns() {
      if (!built) throw new Error('asm: privateModule.fns read before a successful staging()');
      return built.fns;
    },
  };
}
