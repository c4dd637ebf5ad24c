/**
 * @file The function transforms: all of them under `ad.func` (as torch.func) and at the top level (`ad.grad(f)`,
 * `ad.jvp`, `ad.vjp`, `ad.jacobian`, …; src/index.ts exports `grad` explicitly, since ad.autograd.grad is
 * PyTorch's grad(outputs, inputs)).
 */
export * as func from './func.js';
export {
  TreeDef,
  treeFlatten,
  treeLeaves,
  treeMap,
  treeStructure,
  treeUnflatten,
} from './pytree.js';
export {
  hessian,
  hvp,
  type JacobianOptions,
  jacobian,
  jvp,
  type LinearMap,
  linearize,
  type Tangent,
  valueAndGrad,
  vjp,
} from './transforms.js';
