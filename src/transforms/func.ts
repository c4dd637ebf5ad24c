/**
 * @file `ad.func`: the function transforms and pytree helpers as one namespace (PyTorch's torch.func), so `grad`
 * can be the transform here while `ad.grad` stays autograd's grad(outputs, inputs).
 */
export {
  describeValue,
  type MatchNames,
  TreeDef,
  treeFlatten,
  treeLeaves,
  treeMap,
  treeStructure,
  treeUnflatten,
} from './pytree.js';
export {
  type GradOptions,
  grad,
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
