#!/usr/bin/env node
/**
 * `npm run build:package` (and the package's `prepack`): builds the npm
 * package `minute-topup` in `packages/minute-topup/` from the sources —
 *
 * - its code (`vite build --mode package`: `dist/index.js`, `react.js`,
 *   `preact.js`, `mocks.js`, with Lit, React, Preact and msw left external;
 *   source maps for all but the mocks);
 * - its type declarations (`tsc -p tsconfig.package.json`), kept to the files
 *   the four entries reach, so nothing of the server but the mocks' types ships;
 * - `dist/custom-elements.json` (the analyzer, over the widget's sources);
 * - its README: the top-level README's embedding sections, between the
 *   `<!-- package-readme -->` markers, so there is one text to keep true.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const pkg = 'packages/minute-topup';
const types = `${pkg}/dist/types`;
const ENTRIES = ['widget/index', 'widget/react', 'widget/preact', 'mocks/index'];

/** Runs a step; its output goes to stderr, so `npm pack --json` prints clean JSON on stdout. */
function run(command, args) {
  const result = spawnSync(command, args, { stdio: ['inherit', 2, 2] });
  if (result.status !== 0) {
    console.error(`build-package: ${command} ${args.join(' ')} failed`);
    process.exit(result.status ?? 1);
  }
}

const bin = (name) => join(root, 'node_modules', '.bin', name);

run(bin('vite'), ['build', '--mode', 'package', '--logLevel', 'warn']);
dropMocksSourceMap();
run(bin('tsc'), ['-p', 'tsconfig.package.json']);
pruneDeclarations();
run(bin('cem'), [
  'analyze',
  '--config',
  'custom-elements-manifest.config.mjs',
  '--outdir',
  `${pkg}/dist`,
]);
writeReadme();

/**
 * The mocks carry Hono, zod and the ledger: their source map would be two
 * thirds of the tarball, for code a host's test never steps through.
 */
function dropMocksSourceMap() {
  const mocks = `${pkg}/dist/mocks.js`;
  rmSync(`${mocks}.map`);
  writeFileSync(
    mocks,
    readFileSync(mocks, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'),
  );
}

/** Removes the declarations no entry reaches (tsc emits one for every file of the program). */
function pruneDeclarations() {
  const reached = new Set();
  const queue = ENTRIES.map((e) => resolve(types, `${e}.d.ts`));
  while (queue.length) {
    const file = queue.pop();
    if (reached.has(file)) continue;
    reached.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)['"](\.[^'"]+)['"]/g)) {
      queue.push(resolve(dirname(file), m[1].replace(/\.js$/, '.d.ts')));
    }
  }
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        if (readdirSync(path).length === 0) rmdirSync(path);
      } else if (!reached.has(path)) rmSync(path);
    }
  };
  walk(resolve(types));
  console.error(
    `build-package: ${reached.size} declaration files kept under ${relative(root, types)}`,
  );
}

function writeReadme() {
  const readme = readFileSync('README.md', 'utf8');
  const parts = [
    ...readme.matchAll(/<!-- package-readme -->\n([\s\S]*?)<!-- \/package-readme -->/g),
  ];
  if (parts.length === 0) {
    console.error('build-package: README.md has no <!-- package-readme --> section');
    process.exit(1);
  }
  const body = parts.map((m) => m[1].trim()).join('\n\n');
  writeFileSync(
    `${pkg}/README.md`,
    `${body}\n\nThe API that keeps the ledger, its configuration and a demo dashboard live in the\nrepository this package is built from.\n`,
  );
}
