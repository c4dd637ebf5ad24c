/**
 * @file Gradient clipping, torch.nn.utils.clip_grad_norm_ and clip_grad_value_ (1.13): rescale or clamp the .grad
 * of parameters in place, between backward and step. Every gradient is checked before any is changed, so a bad one
 * leaves all of them as they were.
 */
import { noGrad } from '../autograd/mode.js';
import { bool, checked, iterable, number, oneOf, optional, tensor as tensorArg, union } from '../core/args.js';
import { isFloating, promoteTypes } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { abs, amax, clamp, norm, stack, tensor, toDtype } from '../ops/index.js';
import { checkGradFor, Tensor } from '../tensor/tensor.js';

/** torch's `parameters`: one tensor or an iterable of them. */
const PARAMETERS = union(tensorArg, iterable(tensorArg, 'an iterable of Tensors (model.parameters())'));

/**
 * The gradients of parameters, detached (they share the .grad storage, so writing them clips in place), after
 * checking every one: a tensor of its parameter's shape and dtype, floating-point, and not expanded (an in-place
 * write needs each element in its own place).
 */
function gradsOf(name: string, parameters: Tensor | Iterable<Tensor>): Tensor[] {
  const list: unknown[] = parameters instanceof Tensor ? [parameters] : [...parameters];
  const grads: Tensor[] = [];
  list.forEach((p, i) => {
    const what = `parameters[${i}]`;
    if (!(p instanceof Tensor)) throw new ValueError(`${name}: ${what} is ${typeof p}, not a tensor`);
    const g = p.grad;
    if (g === null) return;
    checkGradFor(p, g, name, what);
    if (!isFloating(g.dtype))
      throw new DTypeError(`${name}: ${what}.grad is ${g.dtype}; only floating-point gradients can be clipped`);
    const d = g.shape.findIndex((n, j) => n > 1 && g.stride()[j] === 0);
    if (d >= 0)
      throw new ShapeError(
        `${name}: ${what}.grad (shape ${fmtShape(g.shape)}) is expanded (dim ${d} has stride 0), so it cannot be ` +
          'clipped in place; set p.grad = p.grad.clone() first',
      );
    grads.push(g.detach());
  });
  return grads;
}

type Parameters = Tensor | Iterable<Tensor>;
type NormType = number | 'inf';
interface ClipGradNormOptions {
  parameters?: Parameters;
  maxNorm?: number;
  normType?: NormType;
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of parameters (in place) so that their total normType-norm — the norm of all of them
 * concatenated into one vector — is at most maxNorm: each is multiplied by min(1, maxNorm / (total + 1e-6)).
 * Returns the total norm before clipping, as a 0-d tensor. errorIfNonfinite throws when it is nan or ±inf instead
 * of scaling every gradient by nan. torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=2.0,
 * error_if_nonfinite=False): `clipGradNorm_(params, 1, 2)` or `clipGradNorm_(params, 1, {normType: 'inf'})`.
 */
export const clipGradNorm_ = checked(
  'clipGradNorm_',
  {
    args: {
      parameters: PARAMETERS,
      // A negative maxNorm would flip every gradient; Infinity is a valid (no-op) bound.
      maxNorm: number({ min: 0, infinite: true }),
      normType: optional(union(number({ infinite: true }), oneOf(['inf']))),
      errorIfNonfinite: optional(bool),
    },
  },
  (parameters: Parameters, maxNorm: number, normType: NormType = 2, errorIfNonfinite = false): Tensor => {
    const p = normType === 'inf' ? Infinity : normType;
    const grads = gradsOf('clipGradNorm_', parameters);
    if (grads.length === 0) return tensor(0);
    return noGrad(() => {
      const dtype = grads.map((g) => g.dtype).reduce(promoteTypes);
      const cast = (t: Tensor) => (t.dtype === dtype ? t : toDtype(t, dtype));
      let total: Tensor;
      if (p === Infinity) {
        const norms = grads.map((g) => cast(amax(abs(g))));
        total = norms.length === 1 ? norms[0] : amax(stack(norms));
      } else total = norm(stack(grads.map((g) => cast(norm(g, p)))), p);
      if (errorIfNonfinite && !Number.isFinite(total.item()))
        throw new ValueError(
          `clipGradNorm_: the total norm of order ${p} of the gradients is ${total.item()}, so they cannot be ` +
            'clipped; find where the non-finite gradient comes from (ad.detectAnomaly), or pass ' +
            '{errorIfNonfinite: false} to scale them by it anyway',
        );
      const coef = clamp(total.add(1e-6).reciprocal().mul(maxNorm), null, 1);
      for (const g of grads) g.mul_(coef);
      return total;
    });
  },
) as (
  parameters: Parameters | ClipGradNormOptions,
  maxNorm?: number | ClipGradNormOptions,
  normType?: NormType | ClipGradNormOptions,
  errorIfNonfinite?: boolean | ClipGradNormOptions,
  opts?: ClipGradNormOptions,
) => Tensor;

/**
 * Clamps every gradient of parameters to [−clipValue, clipValue], in place. torch.nn.utils.clip_grad_value_(
 * parameters, clip_value).
 */
export const clipGradValue_ = checked(
  'clipGradValue_',
  {
    args: {
      parameters: PARAMETERS,
      // A negative bound would put every gradient at it; Infinity is a valid (no-op) bound.
      clipValue: number({ min: 0, infinite: true }),
    },
  },
  (parameters: Parameters, clipValue: number): void => {
    const grads = gradsOf('clipGradValue_', parameters);
    noGrad(() => {
      for (const g of grads) g.clamp_(-clipValue, clipValue);
    });
  },
) as (
  parameters: Parameters | { parameters?: Parameters; clipValue?: number },
  clipValue?: number | { clipValue?: number },
  opts?: { clipValue?: number },
) => void;
