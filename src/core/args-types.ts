/**
 * @file The TypeScript side of PyTorch's argument binding (src/core/args.ts is the run-time side): the argument lists
 * a function with optional positional parameters accepts, any prefix of them given positionally and the rest, or
 * all of them, by name in a trailing options object. So `F.maxPool2d(x, 3, 2, 1)`, `F.maxPool2d(x, 3, {stride: 2})`
 * and `F.maxPool2d(x, 3, 2, {padding: 1})` all type-check, without a cast, against one declaration.
 */

/** Every prefix of a tuple: `[]`, `[A0]`, `[A0, A1]`, … up to the whole tuple. */
export type Prefix<A extends readonly unknown[]> = A extends readonly [...infer H, unknown] ? A | Prefix<H> : [];

type WithOptions<R extends readonly unknown[], P, O> = P extends readonly unknown[]
  ? [...R, ...P] | [...R, ...P, O]
  : never;

/**
 * The argument lists of a function with required parameters R, optional positional parameters A (any prefix of
 * them, each also allowed to be undefined), then an optional options object O (which may name A's parameters too).
 */
export type PyArgs<R extends readonly unknown[], A extends readonly unknown[], O> = WithOptions<
  R,
  Prefix<{ [K in keyof A]: A[K] | undefined }>,
  O
>;
