/**
 * @file Gradient clipping, torch.nn.utils.clip_grad_norm_ and clip_grad_value_ (1.13): rescale or clamp the .grad
 * of parameters in place, between backward and step.
 */
import { noGrad } from '../autograd/mode.js';
import { bool, checked, iterable, number, oneOf, optional, tensor as tensorArg, union } from '../core/args.js';
import { promoteTypes } from '../core/dtype.js';
import { ValueError } from '../core/errors.js';
import { abs, amax, clamp, norm, stack, tensor, toDtype } from '../ops/index.js';
import { Tensor } from '../tensor/tensor.js';

function gradsOf(name: string, params: Tensor | Iterable<Tensor>): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new ValueError(`${name}: params[${i}] is ${typeof p}, not a tensor`);
  });
  return list.filter((p) => p.grad !== null).map((p) => p.grad!.detach());
}

/** A tensor or an iterable of them (model.parameters()); each element is checked by gradsOf. */
const PARAMS = union(tensorArg, iterable(tensorArg, 'an iterable of Tensors'));

export interface ClipGradNormOptions {
  maxNorm?: number;
  /** The p of the p-norm: a number, Infinity or 'inf'. Default 2. */
  normType?: number | 'inf';
  /** Throw when the total norm is nan or ±inf instead of scaling every gradient by it. Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of params (in place) so that their total normType-norm — the norm of all of them
 * concatenated into one vector — is at most maxNorm: each is multiplied by min(1, maxNorm / (total + 1e-6)).
 * Returns the total norm before clipping, as a 0-d tensor. errorIfNonfinite throws when it is nan or ±inf instead
 * of scaling every gradient by nan. torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=2.0,
 * error_if_nonfinite=False).
 */
export const clipGradNorm_ = checked(
  'clipGradNorm_',
  {
    args: {
      parameters: PARAMS,
      maxNorm: number({ min: 0, infinite: true }),
      normType: optional(union(number({ infinite: true }), oneOf(['inf']))),
      errorIfNonfinite: optional(bool),
    },
  },
  clipGradNorm,
) as (
  parameters: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType?: number | 'inf' | ClipGradNormOptions,
  errorIfNonfinite?: boolean | ClipGradNormOptions,
  opts?: ClipGradNormOptions,
) => Tensor;

function clipGradNorm(
  params: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normTypeArg: number | 'inf' = 2,
  errorIfNonfinite = false,
): Tensor {
  const normType = normTypeArg === 'inf' ? Infinity : normTypeArg;
  const grads = gradsOf('clipGradNorm_', params);
  if (grads.length === 0) return tensor(0);
  return noGrad(() => {
    const dtype = grads.map((g) => g.dtype).reduce(promoteTypes);
    const cast = (t: Tensor) => (t.dtype === dtype ? t : toDtype(t, dtype));
    let total: Tensor;
    if (normType === Infinity) {
      const norms = grads.map((g) => cast(amax(abs(g))));
      total = norms.length === 1 ? norms[0] : amax(stack(norms));
    } else total = norm(stack(grads.map((g) => cast(norm(g, normType)))), normType);
    if (errorIfNonfinite && !Number.isFinite(total.item()))
      throw new ValueError(
        `clipGradNorm_: the total norm of order ${normType} of the gradients is ${total.item()}, so they cannot be ` +
          'clipped; find where the non-finite gradient comes from (ad.detectAnomaly), or pass ' +
          '{errorIfNonfinite: false} to scale them by it anyway',
      );
    const coef = clamp(total.add(1e-6).reciprocal().mul(maxNorm), null, 1);
    for (const g of grads) g.mul_(coef);
    return total;
  });
}

/**
 * Clamps every gradient of params to [−clipValue, clipValue], in place (torch.nn.utils.clip_grad_value_(parameters,
 * clip_value)).
 */
export const clipGradValue_ = checked(
  'clipGradValue_',
  { args: { parameters: PARAMS, clipValue: number({ min: 0, infinite: true }) } },
  clipGradValue,
);

function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  const grads = gradsOf('clipGradValue_', params);
  noGrad(() => {
    for (const g of grads) g.clamp_(-clipValue, clipValue);
  });
}
