/**
 * @file The core must bundle for browsers: no Node-only imports anywhere under src/ except the CLI.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserBundle } from './helpers.js';

test('src/index.ts bundles for the browser platform with no Node built-ins', async () => {
  const code = await browserBundle();
  assert.ok(!/from ["']node:/.test(code), 'the browser bundle imports a node: module');
  assert.ok(code.length > 10_000);
});
