/**
 * @file The package as a user installs it. `npm pack` of this checkout is installed offline into a fresh `npm init -y`
 * (CommonJS) project and loaded every way a user loads it, by the Node running this suite: `require` (Node's
 * require(esm)), `import`, and TypeScript under tsx as CommonJS and as an ES module — one copy of adjoint whichever
 * way, and never two copies silently. Also: every path package.json names is packed, and every relative link in the
 * packed Markdown (README → docs/) resolves inside the tarball.
 *
 * The install test packs the existing dist/ build (building takes longer than the rest of the file): it is skipped,
 * saying why, when dist/ is missing or older than src/, unless ADJOINT_PACKAGE_TEST=required (what .ci/run sets after
 * `npm ci` has built dist/), where that is a failure.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe as describeValue, isTensorLike, TENSOR } from '../src/core/args.js';
import * as ad from '../src/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
};

interface Packed {
  filename: string;
  files: { path: string }[];
}

/** `npm pack --json` of this checkout, without running prepare (the build): what the tarball holds. */
async function npmPack(...args: string[]): Promise<Packed> {
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', ...args], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  return (JSON.parse(stdout) as Packed[])[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Links in the packed Markdown.

/** GitHub's anchor for a heading: lower case, punctuation (backticks too) dropped, spaces to hyphens; repeats get -1, … */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, text] of stripFences(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Markdown without fenced code blocks, where `# a` is not a heading. */
function stripFences(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```[ \t]*$/gm, '');
}

/** Markdown without fenced code blocks and code spans, where `[a](b)` is not a link. */
function stripCode(markdown: string): string {
  return stripFences(markdown).replace(/`[^`\n]*`/g, '');
}

/** The relative link targets of a Markdown file (no scheme: not http:, mailto:, …). */
function relativeLinks(markdown: string): string[] {
  const links = [...stripCode(markdown).matchAll(/!?\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
  return links.filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l));
}

describe('the packed Markdown', () => {
  test('every relative link in the README and the docs it ships resolves inside the tarball, anchors included', async () => {
    const packed = new Set((await npmPack('--dry-run')).files.map((f) => f.path));
    const markdown = [...packed].filter((p) => p.endsWith('.md'));
    assert.ok(markdown.includes('README.md') && markdown.some((p) => p.startsWith('docs/')), [...packed].join(', '));
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdown) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const link of relativeLinks(text)) {
        checked++;
        const [path, anchor] = link.split('#');
        const target = path === '' ? file : posix.normalize(posix.join(posix.dirname(file), decodeURI(path)));
        const isDir = [...packed].some((p) => p.startsWith(`${target.replace(/\/$/, '')}/`));
        if (!packed.has(target) && !isDir) broken.push(`${file}: ${link} (${target} is not in the tarball)`);
        else if (anchor && target.endsWith('.md') && !anchors(readFileSync(join(ROOT, target), 'utf8')).has(anchor))
          broken.push(`${file}: ${link} (${target} has no heading #${anchor})`);
      }
    }
    assert.deepEqual(broken, []);
    assert.ok(checked >= 10, `only ${checked} relative links found: is the link pattern still right?`);
  });

  test("the link checker's own rules: code is not a link, schemes are not relative, GitHub's anchors", () => {
    const md = '# A `b`: c\n## A `b`: c\n[x](docs/X.md#y) [m](mailto:a@b) `[no](no.md)`\n```\n[no](no.md)\n```\n';
    assert.deepEqual(relativeLinks(md), ['docs/X.md#y']);
    assert.deepEqual([...anchors(md)], ['a-b-c', 'a-b-c-1']);
    assert.ok(anchors('## Deliberate differences from PyTorch').has('deliberate-differences-from-pytorch'));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The installed package.

/** Why the dist/ build cannot be packed as it is, or null when it can. */
function buildProblem(): string | null {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) return 'there is no dist/ build (npm run build makes it)';
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith('.ts') && !rel.endsWith('.d.ts')) {
        const out = join(ROOT, 'dist', rel.slice('src/'.length).replace(/\.ts$/, '.js'));
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, rel)).mtimeMs) stale.push(rel);
      }
    }
  };
  walk('src');
  if (stale.length)
    return `dist/ is older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''} (npm run build)`;
  return null;
}

const problem = buildProblem();
const required = process.env.ADJOINT_PACKAGE_TEST === 'required';
const skip = problem && !required ? `${problem}; set ADJOINT_PACKAGE_TEST=required to fail instead` : false;

/** What each script prints: how it was loaded and what it computed. */
interface Report {
  commonjs: boolean;
  value: number;
  grad: number[][];
  /** The other way of loading adjoint in the same process gave the same module (or the script did not try). */
  oneCopy?: boolean;
  /** How this copy's ops answer a tensor of the other copy, when there are two. */
  foreign?: string;
}

// The Rosetta stone at its smallest: y = Σ X·w, so y = 1·1 + 2·(−1) + 3·1 + 4·(−1) = −2 and dy/dX = [wᵀ; wᵀ].
const BODY = `
  const x = ad.tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const y = x.matmul(ad.tensor([[1], [-1]])).sum();
  y.backward();
  const report = { commonjs: typeof require === 'function' && typeof module === 'object', value: y.item(), grad: x.grad.toArray() };`;
const EXPECTED = {
  value: -2,
  grad: [
    [1, -1],
    [1, -1],
  ],
};

/** Compares this copy with `other`, the namespace the other way of loading gave, then prints the report. */
const COMPARE = `
  report.oneCopy = other === ad || (other.Tensor === ad.Tensor && x instanceof other.Tensor);
  if (!report.oneCopy) {
    try { ad.add(x, other.tensor([1, 2])); report.foreign = 'accepted'; }
    catch (e) { report.foreign = (e instanceof ad.AdjointError ? 'AdjointError: ' : 'untyped: ') + e.message; }
  }
  console.log(JSON.stringify(report));`;

/**
 * The script body as TypeScript, typed with the package's own declarations; it is type-checked as the user's
 * compiler would (without @types/node, hence the two declarations).
 */
const typed = (body: string) =>
  `\ndeclare const require: unknown;\ndeclare const module: unknown;${body}`
    .replace('const x =', 'const x: ad.Tensor =')
    .replace('const report =', 'const report: Record<string, unknown> =')
    .replace('x.grad.', 'x.grad!.');

const SCRIPTS: Record<string, string> = {
  // Node's require(esm) and import() must hand out the very same module namespace.
  'require.cjs': `const ad = require('adjoint');${BODY}\nimport('adjoint').then((other) => {${COMPARE}\n});\n`,
  'import.mjs': `import * as ad from 'adjoint';\nimport { createRequire } from 'node:module';${BODY}\nconst other = createRequire(import.meta.url)('adjoint');${COMPARE}\n`,
  // TypeScript, each loading adjoint one way, as a user's file does. In a "type": "commonjs" project tsx compiles
  // main.ts to CommonJS (the import becomes require), main.mts to an ES module.
  'main.ts': `import * as ad from 'adjoint';${typed(BODY)}\nconsole.log(JSON.stringify(report));\n`,
  'main.mts': `import * as ad from 'adjoint';${typed(BODY).replace(/typeof require .*?'object'/, 'false')}\nconsole.log(JSON.stringify(report));\n`,
  // Both ways in one tsx CommonJS file: tsx compiles the required package into a CommonJS copy of its own, beside
  // the ES module that import() loads. That must be one copy, or two that say so.
  'mixed.ts': `import * as ad from 'adjoint';${typed(BODY)}\nimport('adjoint').then((other: any) => {${COMPARE.replace('(e)', '(e: any)')}\n});\n`,
};

const TYPESCRIPT = Object.keys(SCRIPTS).filter((name) => name.endsWith('ts'));

describe('installed from `npm pack` into a fresh `npm init -y` project', { skip }, () => {
  let dir = '';
  let project = '';
  let packed: Packed;
  const tsx = import.meta.resolve('tsx');

  before(async () => {
    if (problem) throw new Error(`ADJOINT_PACKAGE_TEST=required, but ${problem}`);
    dir = mkdtempSync(join(tmpdir(), 'adjoint-package-'));
    packed = await npmPack('--pack-destination', dir);
    project = join(dir, 'project');
    mkdirSync(project);
    await run('npm', ['init', '-y'], { cwd: project });
    // A local tarball needs no registry; koffi, the one (optional) dependency, is left out, as a machine without it
    // would install. The cache is the test's own, so nothing from an earlier install is reused.
    await run(
      'npm',
      [
        'install',
        '--offline',
        '--ignore-scripts',
        '--omit=optional',
        '--no-audit',
        '--no-fund',
        '--cache',
        join(dir, 'cache'),
      ].concat(join(dir, packed.filename)),
      { cwd: project },
    );
    for (const [name, code] of Object.entries(SCRIPTS)) writeFileSync(join(project, name), code);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a script of the project with the Node running this suite (under tsx for TypeScript). */
  async function runScript(name: string): Promise<{ report: Report; stderr: string }> {
    const args = name.endsWith('ts') ? ['--import', tsx, name] : [name];
    const { stdout, stderr } = await run(process.execPath, args, { cwd: project });
    return { report: JSON.parse(stdout.trim().split('\n').pop()!) as Report, stderr };
  }

  test('npm init -y makes a CommonJS project, and the tarball holds every path package.json names', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { type?: string };
    assert.notEqual(pkg.type, 'module');
    const files = new Set(packed.files.map((f) => f.path));
    const named = [PKG.main, PKG.types, ...Object.values(PKG.bin)];
    for (const target of Object.values(PKG.exports))
      named.push(...(typeof target === 'string' ? [target] : Object.values(target)));
    for (const p of named) assert.ok(files.has(posix.normalize(p)), `${p} is named in package.json but not packed`);
  });

  for (const [name, how] of [
    ['require.cjs', 'require(), then import() in the same process'],
    ['import.mjs', 'import, then createRequire() in the same process'],
    ['main.ts', 'TypeScript compiled to CommonJS by tsx'],
    ['main.mts', 'TypeScript as an ES module under tsx'],
  ]) {
    test(`${name}: ${how} — loads, computes, one copy, nothing on stderr`, async () => {
      const { report, stderr } = await runScript(name);
      assert.equal(report.commonjs, name.endsWith('.cjs') || name === 'main.ts');
      assert.deepEqual({ value: report.value, grad: report.grad }, EXPECTED);
      if (report.oneCopy !== undefined) assert.equal(report.oneCopy, true, 'require and import gave two copies');
      assert.equal(stderr, '');
    });
  }

  test("the TypeScript files type-check against the package's declarations, as CommonJS and as ES modules", async () => {
    // module nodenext (TypeScript 5.8 and later) knows that Node's require() loads an ES module; node16 does not.
    const config = { module: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: [], skipLibCheck: false };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: config, files: TYPESCRIPT }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', '.'], { cwd: project }).catch((e: { stdout: string }) => {
      assert.fail(`tsc found errors:\n${e.stdout}`);
    });
  });

  test('mixed.ts: an import statement and import() in one tsx CommonJS file give one copy, or two that say so', async () => {
    const { report, stderr } = await runScript('mixed.ts');
    assert.deepEqual({ value: report.value, grad: report.grad }, EXPECTED);
    if (report.oneCopy) assert.equal(stderr, '');
    else {
      assert.match(stderr, /adjoint: a second copy of adjoint was loaded in this process/);
      assert.equal(stderr.match(/second copy/g)?.length, 1, 'the warning comes once');
      assert.match(
        report.foreign ?? '',
        /^AdjointError: /,
        'a tensor of the other copy is rejected with a typed error',
      );
    }
  });
});

describe('one copy of adjoint per process', () => {
  test("a tensor branded by another copy is not taken for this copy's, and messages say where it came from", () => {
    const ours = ad.zeros([2]);
    const foreign = { [TENSOR]: Object.freeze({ loadedFrom: 'file:///elsewhere' }), dtype: 'float32', shape: [2] };
    assert.equal(isTensorLike(ours), true);
    assert.equal(isTensorLike(foreign), false);
    assert.equal(
      describeValue(foreign),
      'a float32 tensor of shape [2] of another copy of adjoint (two are loaded in this process: load adjoint one way)',
    );
    assert.equal(TENSOR, Symbol.for('adjoint.tensor'));
  });

  test('each copy registers where it was loaded from', () => {
    const copies = (globalThis as Record<symbol, { loadedFrom: string }[]>)[Symbol.for('adjoint.copies')];
    assert.equal(copies.length, 1);
    assert.equal(copies[0].loadedFrom, new URL('../src/core/copy.ts', import.meta.url).href);
  });
});
