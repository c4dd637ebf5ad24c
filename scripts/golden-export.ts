/**
 * @file First half of `npm run golden`: writes every op-table sample that names a PyTorch expression — its seeded
 * inputs, a seeded cotangent for its output and the expression — to .tmp/golden-cases.json, for scripts/golden.py to
 * evaluate with PyTorch. The inputs come from test/golden-cases.ts, which test/golden.test.ts rebuilds them with.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCase, encodeValues, fingerprint, goldenCases } from '../test/golden-cases.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const path = process.argv[2] ?? join(root, '.tmp', 'golden-cases.json');

const entries: unknown[] = [];
const missing: string[] = [];
for (const c of goldenCases()) {
  if (c.torch === null) continue;
  if (c.torch === undefined) {
    missing.push(c.key);
    continue;
  }
  const { inputs, cotangent } = buildCase(c);
  entries.push({
    key: c.key,
    torch: c.torch,
    hash: fingerprint(inputs),
    inputs: inputs.map((t) => ({
      shape: t.shape,
      dtype: t.dtype,
      grad: t.requiresGrad,
      values: encodeValues(t.dataSync()),
    })),
    cotangent: cotangent && encodeValues(cotangent.dataSync()),
  });
}
mkdirSync(dirname(path), { recursive: true });
writeFileSync(path, JSON.stringify({ entries }));
console.log(`golden-export: ${entries.length} cases → ${path}`);
if (missing.length)
  console.warn(
    `golden-export: ${missing.length} samples have no PyTorch expression (test/golden.test.ts will fail on them): ` +
      missing.join(', '),
  );
