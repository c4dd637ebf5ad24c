/**
 * @file Terminal output for the CLI: ✓/✗ marks, colour only when stdout is a terminal, column alignment that
 * ignores colour codes, and the number, shape, time and byte formats every section of the demo shares.
 */

/** Colour when stdout is a terminal, unless NO_COLOR is set; FORCE_COLOR turns it on for pipes. */
export function colorEnabled(stream: { isTTY?: boolean } = process.stdout): boolean {
  const env = process.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
  /** ✓ in green or ✗ in red. */
  mark(ok: boolean): string;
}

export function makeStyle(color: boolean): Style {
  const wrap = (open: number, close: number) => (s: string) => (color ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  const green = wrap(32, 39);
  const red = wrap(31, 39);
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    green,
    red,
    cyan: wrap(36, 39),
    mark: (ok) => (ok ? green('✓') : red('✗')),
  };
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Width in terminal columns: code points without colour codes (every symbol the demo prints is one column). */
export function width(s: string): number {
  let n = 0;
  for (const _ of s.replace(ANSI, '')) n++;
  return n;
}

export function padEnd(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - width(s)));
}

/** Rows of cells, each column padded to its widest cell; trailing spaces trimmed. */
export function table(rows: readonly (readonly string[])[], indent = '  ', gap = '   '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, width(c))));
  return rows.map((r) =>
    (indent + r.map((c, i) => (i === r.length - 1 ? c : padEnd(c, widths[i]))).join(gap)).trimEnd(),
  );
}

/** `[4×3]`, `[2]`, `[]`: shapes as the equations print them. */
export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join('×')}]`;
}

/** Subscript digits for layer numbers: W₁, b₁₂. */
export function sub(i: number): string {
  return String(i).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[+d]);
}

/** An error or difference: 0, or 2.3e-11. */
export function sci(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  return x.toExponential(1);
}

/** A value with 12 significant digits, so two sides of an identity can be compared by eye. */
export function full(x: number): string {
  return x.toPrecision(12);
}

/** A duration given in milliseconds, with three significant digits: 113 µs, 876 ms, 1.50 s. */
export function ms(t: number): string {
  if (t < 1) return `${(t * 1000).toPrecision(3)} µs`;
  if (t >= 999.5) return `${(t / 1000).toPrecision(3)} s`;
  return `${t.toPrecision(3)} ms`;
}

/** Bytes in KiB/MiB/GiB with three significant digits. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toPrecision(3)} ${units[u]}`;
}

/** 1234567 → 1,234,567 */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
