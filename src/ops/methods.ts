/**
 * @file Tensor methods from op functions: `x.exp()` is `exp(x)`. Each op file installs its own methods and declares
 * their types by augmenting the Tensor interface, so adding an op never touches the Tensor class.
 */
import { methodOf, signatureOf } from '../core/args.js';
import { Tensor } from '../tensor/tensor.js';

export function installMethods(fns: Record<string, (self: Tensor, ...args: any[]) => unknown>): void {
  const proto = Tensor.prototype as unknown as Record<string, unknown>;
  for (const [name, f] of Object.entries(fns)) {
    const method =
      methodOf(f) ??
      function (this: Tensor, ...args: unknown[]) {
        return f(this, ...args);
      };
    // The function's signature checks the call (this is its first argument); the method is described without it.
    signatureOf(f)?.withoutFirst().describes(method);
    proto[name] = method;
  }
}
