/**
 * @file The core must bundle for browsers: no Node-only imports anywhere under src/ except the CLI.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from 'esbuild';

test('src/index.ts bundles for the browser platform with no Node built-ins', async () => {
  const r = await build({
    entryPoints: ['src/index.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  assert.equal(r.errors.length, 0);
  const code = r.outputFiles[0].text;
  assert.ok(!/from ["']node:/.test(code), 'the browser bundle imports a node: module');
  assert.ok(code.length > 10_000);
});
