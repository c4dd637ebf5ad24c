/**
 * @file The wasm backend's GEMM, generated: a BLIS-style loop nest (pack a kc×nc panel of B, pack mc×kc blocks of A,
 * sweep MR×NR register tiles over them) whose micro-kernel keeps an MR×NR tile of C in SIMD registers for a whole
 * kc-long dot product. Packing makes every operand layout — plain, transposed, strided, broadcast — run the same
 * inner loop, so a transposed operand costs only its (O(n²)) packing, never a slow path. Generated per element type
 * (f32x4 / f64x2) and per multiply-add (relaxed-SIMD fused, or mul + add).
 */
import type { Code, Local, ModuleBuilder } from './asm.js';

export interface GemmFlavor {
  type: 'f32' | 'f64';
  /** Fused multiply-add from relaxed SIMD (one rounding) rather than mul then add (two). */
  fma: boolean;
  mr: number;
  nr: number;
  kc: number;
  mc: number;
  nc: number;
}

/**
 * Tile sizes measured on x86-64 (16 SIMD registers; AMD Zen 4, node 20, 2026-12-02): a 6×8 f32 tile keeps 12
 * accumulators, 2 B vectors and 1 A splat in registers (4×8: 45 → 6×8: 52 GFLOP/s at n = 256 with FMA; 4×12 and
 * 3×16 spill, 37); f64's 6×4 likewise (21 → 26). kc·nr and the mc·kc block sized for L1 and L2 (mc 48 held 48
 * GFLOP/s at n = 1024 where mc 96 fell to 44).
 */
export function defaultFlavor(type: 'f32' | 'f64', fma: boolean): GemmFlavor {
  return type === 'f32'
    ? { type, fma, mr: 6, nr: 8, kc: 384, mc: 48, nc: 512 }
    : { type, fma, mr: 6, nr: 4, kc: 256, mc: 48, nc: 256 };
}

/** Bytes of per-thread scratch a flavor needs: packed A block, packed B panel, an edge tile. */
export function scratchBytes(f: GemmFlavor): { packA: number; packB: number; tile: number } {
  const size = f.type === 'f32' ? 4 : 8;
  const mcR = Math.ceil(f.mc / f.mr) * f.mr;
  const ncR = Math.ceil(f.nc / f.nr) * f.nr;
  return { packA: mcR * f.kc * size, packB: ncR * f.kc * size, tile: f.mr * f.nr * size };
}

/**
 * Adds `gemm_<type>` and `gemmBatch_<type>` to the module. gemmBatch(table, count, m, n, k, rsA, csA, rsB, csB, ldc,
 * beta, packA, packB, tile): for each of `count` (a, b, c) byte-address triples at `table`, C = A·B + beta·C, where
 * strides are in bytes and C is row-major with row stride ldc bytes. Returns the exported names.
 */
export function addGemm(mod: ModuleBuilder, f: GemmFlavor): string {
  const { type, mr, nr } = f;
  const size = type === 'f32' ? 4 : 8;
  const lanes = 16 / size;
  const nv = nr / lanes;
  if (nr % lanes !== 0) throw new Error(`gemm flavor: NR=${nr} must be a multiple of ${lanes}`);
  const V = type === 'f32' ? 'f32x4' : 'f64x2';
  const load = type === 'f32' ? 'f32.load' : 'f64.load';
  const store = type === 'f32' ? 'f32.store' : 'f64.store';
  const splat = type === 'f32' ? 'load32Splat' : 'load64Splat';
  const sfx = `${type}${f.fma ? '_fma' : ''}_${mr}x${nr}`;

  // kern(ap, bp, c, ldc, kc, beta): the MR×NR register tile.
  const kern = mod.fn(null, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (c) => {
    const [ap, bp, cp, ldc, kc, beta] = [0, 1, 2, 3, 4, 5].map((i) => c.param(i));
    const acc: Local[][] = [];
    for (let i = 0; i < mr; i++) acc.push(Array.from({ length: nv }, () => c.local('v128')));
    const bv = Array.from({ length: nv }, () => c.local('v128'));
    const av = c.local('v128');
    const p = c.local('i32');
    const zero = (code: Code) => (type === 'f32' ? code.f32(0).simd('f32x4.splat') : code.f64(0).simd('f64x2.splat'));
    for (const row of acc) for (const a of row) zero(c).set(a);
    c.for(
      p,
      (c) => c.i32(0),
      kc,
      1,
      (c) => {
        for (let j = 0; j < nv; j++)
          c.get(bp)
            .vmem('load', j * 16)
            .set(bv[j]);
        for (let i = 0; i < mr; i++) {
          c.get(ap)
            .vmem(splat, i * size)
            .set(av);
          for (let j = 0; j < nv; j++) {
            if (f.fma) c.get(av).get(bv[j]).get(acc[i][j]).simd(`${V}.relaxed_madd`);
            else c.get(acc[i][j]).get(av).get(bv[j]).simd(`${V}.mul`).simd(`${V}.add`);
            c.set(acc[i][j]);
          }
        }
        c.get(ap)
          .i32(mr * size)
          .op('i32.add')
          .set(ap);
        c.get(bp)
          .i32(nr * size)
          .op('i32.add')
          .set(bp);
      },
    );
    const row = c.local('i32');
    c.get(cp).set(row);
    c.get(beta).if(
      (c) => {
        for (let i = 0; i < mr; i++) {
          for (let j = 0; j < nv; j++)
            c.get(row)
              .get(row)
              .vmem('load', j * 16)
              .get(acc[i][j])
              .simd(`${V}.add`)
              .vmem('store', j * 16);
          c.get(row).get(ldc).op('i32.add').set(row);
        }
      },
      (c) => {
        for (let i = 0; i < mr; i++) {
          for (let j = 0; j < nv; j++)
            c.get(row)
              .get(acc[i][j])
              .vmem('store', j * 16);
          c.get(row).get(ldc).op('i32.add').set(row);
        }
      },
    );
  });

  // macro(ap, bp, c, ldc, mc, nc, kc, beta, tile): every register tile of one packed A block × packed B panel.
  const macro = mod.fn(null, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (c) => {
    const [ap, bp, cp, ldc, mc, nc, kc, beta, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => c.param(i));
    const [jr, ir, i, j, mEdge, nEdge, apI, bpJ, cIJ, src, dst] = Array.from({ length: 11 }, () => c.local('i32'));
    const val = c.local(type);
    c.for(
      jr,
      (c) => c.i32(0),
      nc,
      nr,
      (c) => {
        c.get(bp).get(jr).get(kc).op('i32.mul').i32(size).op('i32.mul').op('i32.add').set(bpJ);
        c.get(nc).get(jr).op('i32.sub').set(nEdge);
        c.for(
          ir,
          (c) => c.i32(0),
          mc,
          mr,
          (c) => {
            c.get(ap).get(ir).get(kc).op('i32.mul').i32(size).op('i32.mul').op('i32.add').set(apI);
            c.get(cp)
              .get(ir)
              .get(ldc)
              .op('i32.mul')
              .op('i32.add')
              .get(jr)
              .i32(size)
              .op('i32.mul')
              .op('i32.add')
              .set(cIJ);
            c.get(mc).get(ir).op('i32.sub').set(mEdge);
            c.get(mEdge)
              .i32(mr)
              .op('i32.ge_s')
              .get(nEdge)
              .i32(nr)
              .op('i32.ge_s')
              .op('i32.and')
              .if(
                (c) => c.get(apI).get(bpJ).get(cIJ).get(ldc).get(kc).get(beta).call(kern),
                (c) => {
                  // A partial tile: compute it whole into the scratch tile, then merge the valid part.
                  c.get(apI)
                    .get(bpJ)
                    .get(tile)
                    .i32(nr * size)
                    .get(kc)
                    .i32(0)
                    .call(kern);
                  c.get(mEdge)
                    .i32(mr)
                    .op('i32.gt_s')
                    .if((c) => c.i32(mr).set(mEdge));
                  c.get(nEdge)
                    .i32(nr)
                    .op('i32.gt_s')
                    .if((c) => c.i32(nr).set(nEdge));
                  c.for(
                    i,
                    (c) => c.i32(0),
                    mEdge,
                    1,
                    (c) => {
                      c.for(
                        j,
                        (c) => c.i32(0),
                        nEdge,
                        1,
                        (c) => {
                          c.get(tile)
                            .get(i)
                            .i32(nr)
                            .op('i32.mul')
                            .get(j)
                            .op('i32.add')
                            .i32(size)
                            .op('i32.mul')
                            .op('i32.add')
                            .set(src);
                          c.get(cIJ)
                            .get(i)
                            .get(ldc)
                            .op('i32.mul')
                            .op('i32.add')
                            .get(j)
                            .i32(size)
                            .op('i32.mul')
                            .op('i32.add')
                            .set(dst);
                          // Block types here are empty, so the accumulation goes through a local, not the stack.
                          c.get(src).mem(load).set(val);
                          c.get(beta).if((c) => c.get(dst).mem(load).get(val).op(`${type}.add`).set(val));
                          c.get(dst).get(val).mem(store);
                        },
                      );
                    },
                  );
                  c.get(nc).get(jr).op('i32.sub').set(nEdge);
                },
              );
          },
        );
      },
    );
  });

  /**
   * pack(src, along, kStep, dst, count, kc): `width`-wide panels, k-major inside a panel, lanes past `count` zero.
   * A's MR-row panels are pack(a, rsA, csA, …, mc, kc); B's NR-column panels pack(b, csB, rsB, …, nc, kc). Where
   * the panel width is whole vectors and the source is contiguous along it, full panels copy as vectors.
   */
  const addPack = (width: number) =>
    mod.fn(null, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (c) => {
      const [srcP, along, kStep, dst, count, kc] = [0, 1, 2, 3, 4, 5].map((i) => c.param(i));
      const [pr, p, base, q, lanesLeft, i] = Array.from({ length: 6 }, () => c.local('i32'));
      const scalarPanel = (c: Code) =>
        c.for(
          p,
          (c) => c.i32(0),
          kc,
          1,
          (c) => {
            c.get(base).get(p).get(kStep).op('i32.mul').op('i32.add').set(q);
            for (let r = 0; r < width; r++) {
              c.get(dst)
                .get(q)
                .mem(load)
                .mem(store, r * size);
              if (r < width - 1) c.get(q).get(along).op('i32.add').set(q);
            }
            c.get(dst)
              .i32(width * size)
              .op('i32.add')
              .set(dst);
          },
        );
      const vectorPanel = (c: Code) =>
        c.for(
          p,
          (c) => c.i32(0),
          kc,
          1,
          (c) => {
            c.get(base).get(p).get(kStep).op('i32.mul').op('i32.add').set(q);
            for (let v = 0; v < width / lanes; v++)
              c.get(dst)
                .get(q)
                .vmem('load', v * 16)
                .vmem('store', v * 16);
            c.get(dst)
              .i32(width * size)
              .op('i32.add')
              .set(dst);
          },
        );
      const edgePanel = (c: Code) =>
        c.for(
          p,
          (c) => c.i32(0),
          kc,
          1,
          (c) => {
            c.get(base).get(p).get(kStep).op('i32.mul').op('i32.add').set(q);
            c.for(
              i,
              (c) => c.i32(0),
              lanesLeft,
              1,
              (c) => {
                c.get(dst).get(i).i32(size).op('i32.mul').op('i32.add').get(q).mem(load).mem(store);
                c.get(q).get(along).op('i32.add').set(q);
              },
            );
            // Zero the lanes past the edge (stores of 0.0 at r·size for r ≥ lanesLeft).
            for (let r = 0; r < width; r++)
              c.get(lanesLeft)
                .i32(r)
                .op('i32.le_s')
                .if((c) => {
                  c.get(dst);
                  if (type === 'f32') c.f32(0);
                  else c.f64(0);
                  c.mem(store, r * size);
                });
            c.get(dst)
              .i32(width * size)
              .op('i32.add')
              .set(dst);
          },
        );
      c.for(
        pr,
        (c) => c.i32(0),
        count,
        width,
        (c) => {
          c.get(srcP).get(pr).get(along).op('i32.mul').op('i32.add').set(base);
          c.get(count).get(pr).op('i32.sub').set(lanesLeft);
          c.get(lanesLeft)
            .i32(width)
            .op('i32.ge_s')
            .if(
              (c) =>
                width % lanes === 0 ? c.get(along).i32(size).op('i32.eq').if(vectorPanel, scalarPanel) : scalarPanel(c),
              edgePanel,
            );
        },
      );
    });
  const packA = addPack(mr);
  const packB = addPack(nr);

  // gemm(a, b, c, m, n, k, rsA, csA, rsB, csB, ldc, beta, packA, packB, tile): the BLIS loop nest for one product.
  const gemm = mod.fn(
    null,
    ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
    [],
    (c) => {
      const [a, b, cp, m, n, k, rsA, csA, rsB, csB, ldc, beta, pa, pb, tile] = Array.from({ length: 15 }, (_, i) =>
        c.param(i),
      );
      const [jc, pc, ic, ncL, kcL, mcL, betaL, t] = Array.from({ length: 8 }, () => c.local('i32'));
      const min = (c: Code, x: Local, cap: number, out: Local) => {
        c.get(x)
          .i32(cap)
          .op('i32.gt_s')
          .if(
            (c) => c.i32(cap).set(out),
            (c) => c.get(x).set(out),
          );
      };
      c.for(
        jc,
        (c) => c.i32(0),
        n,
        f.nc,
        (c) => {
          c.get(n).get(jc).op('i32.sub').set(t);
          min(c, t, f.nc, ncL);
          c.for(
            pc,
            (c) => c.i32(0),
            k,
            f.kc,
            (c) => {
              c.get(k).get(pc).op('i32.sub').set(t);
              min(c, t, f.kc, kcL);
              c.get(pc)
                .op('i32.eqz')
                .if(
                  (c) => c.get(beta).set(betaL),
                  (c) => c.i32(1).set(betaL),
                );
              c.get(b).get(pc).get(rsB).op('i32.mul').op('i32.add').get(jc).get(csB).op('i32.mul').op('i32.add');
              c.get(csB).get(rsB).get(pb).get(ncL).get(kcL).call(packB);
              c.for(
                ic,
                (c) => c.i32(0),
                m,
                f.mc,
                (c) => {
                  c.get(m).get(ic).op('i32.sub').set(t);
                  min(c, t, f.mc, mcL);
                  c.get(a).get(ic).get(rsA).op('i32.mul').op('i32.add').get(pc).get(csA).op('i32.mul').op('i32.add');
                  c.get(rsA).get(csA).get(pa).get(mcL).get(kcL).call(packA);
                  c.get(pa).get(pb);
                  c.get(cp).get(ic).get(ldc).op('i32.mul').op('i32.add').get(jc).i32(size).op('i32.mul').op('i32.add');
                  c.get(ldc).get(mcL).get(ncL).get(kcL).get(betaL).get(tile).call(macro);
                },
              );
            },
          );
        },
      );
    },
  );

  // gemmBatch(table, count, m, n, k, rsA, csA, rsB, csB, ldc, beta, packA, packB, tile)
  const name = `gemmBatch_${sfx}`;
  mod.fn(
    name,
    ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
    [],
    (c) => {
      const [table, count, m, n, k, rsA, csA, rsB, csB, ldc, beta, pa, pb, tile] = Array.from({ length: 14 }, (_, i) =>
        c.param(i),
      );
      const [e, q] = [c.local('i32'), c.local('i32')];
      c.for(
        e,
        (c) => c.i32(0),
        count,
        1,
        (c) => {
          c.get(table).get(e).i32(12).op('i32.mul').op('i32.add').set(q);
          c.get(q).mem('i32.load', 0).get(q).mem('i32.load', 4).get(q).mem('i32.load', 8);
          c.get(m).get(n).get(k).get(rsA).get(csA).get(rsB).get(csB).get(ldc).get(beta).get(pa).get(pb).get(tile);
          c.call(gemm);
        },
      );
    },
  );
  return name;
}
