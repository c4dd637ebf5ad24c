/**
 * @file This copy of adjoint, told apart from any other loaded in the same process. The package is one ES module graph
 * that `import` and Node's `require(esm)` both load, so plain Node never holds two copies; but tsx's CommonJS loader
 * compiles `require('adjoint')` into a CommonJS copy of its own while `import('adjoint')` loads the ES module, and a
 * bundle can inline adjoint beside an installed one. Each copy has its own Tensor class, grad mode, backend and RNG,
 * so nothing done through one is seen by the other. Tensors carry their copy's mark (core/args.ts names a foreign
 * tensor instead of taking it), and the second copy to load warns once, saying where both came from.
 */

/** Where this copy was loaded from: a file URL in Node, the bundle's URL in a browser. */
const loadedFrom: string = String(import.meta.url ?? 'a bundle');

/** This copy's mark: the value of the tensor brand on its tensors (see TENSOR in core/args.ts). */
export const THIS_COPY: { readonly loadedFrom: string } = Object.freeze({ loadedFrom });

const COPIES = Symbol.for('adjoint.copies');
const registry = globalThis as { [COPIES]?: { loadedFrom: string }[] };
const earlier = (registry[COPIES] ??= []);
earlier.push(THIS_COPY);
if (earlier.length === 2) {
  const first = earlier[0].loadedFrom;
  const where = first === loadedFrom ? `again from ${first}, by another loader` : `from ${loadedFrom}, after ${first}`;
  console.warn(
    `adjoint: a second copy of adjoint was loaded in this process, ${where}. Tensors, grad mode, the backend and ` +
      'the RNG seed of one copy are not seen by the other, and a tensor of one is rejected by the other. Load ' +
      "adjoint one way: under tsx in a CommonJS project, import statements (compiled to require('adjoint')) and " +
      "import('adjoint') load separate copies, so use one of them throughout",
  );
}
