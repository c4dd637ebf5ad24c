/**
 * @file Public, checked forms of core helpers that the library also calls internally on hot paths (so the internal
 * callers keep the unchecked function and users get the declared one).
 */
import { checked, dtype } from '../core/args.js';
import { promoteTypes as promote } from '../core/dtype.js';

/** The dtype two dtypes promote to (torch.promote_types). */
export const promoteTypes = checked('promoteTypes', { args: { type1: dtype, type2: dtype } }, promote);
