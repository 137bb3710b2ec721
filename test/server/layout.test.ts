import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The layout the folders promise: no import cycles among the project's own
 * modules, and only the composition root at the top of `server/`.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['contract', 'server', 'widget', 'mocks', 'demo'];
/** The composition root: what `server/` holds at its top level. */
const COMPOSITION_ROOT = ['app.ts', 'clock.ts', 'config.ts', 'main.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `import … from 'x'`, `import 'x'`, `export … from 'x'` and `import('x')`, type-only ones too. */
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The project's own modules each file imports (relative specifiers only, `.js` read as `.ts`). */
function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
    const targets = new Set<string>();
    for (const match of text.matchAll(SPECIFIER)) {
      const specifier = match[1] ?? match[2];
      if (!specifier?.startsWith('.')) continue;
      const base = resolve(dirname(file), specifier);
      const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
      const target = candidates.find((c) => known.has(c));
      if (target) targets.add(target);
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

/** The first cycle found, as a list of files from a module back to itself; null if none. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...path.slice(path.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of [...graph.keys()].sort()) {
    if (state.has(node)) continue;
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe('layout', () => {
  it('has no import cycles among the modules of contract/, server/, widget/, mocks/ and demo/', () => {
    const files = FOLDERS.flatMap((folder) => sourceFiles(join(root, folder)));
    const graph = importGraph(files);
    assert.ok(graph.size > 20, 'the import graph covers the project');
    const cycle = findCycle(graph);
    assert.equal(
      cycle && cycle.map((file) => relative(root, file)).join(' → '),
      null,
      'import cycle',
    );
  });

  it('lets no layer below server/ import the composition root (the clock aside)', () => {
    const files = FOLDERS.flatMap((folder) => sourceFiles(join(root, folder)));
    const composition = new Set(
      COMPOSITION_ROOT.filter((f) => f !== 'clock.ts').map((f) => join(root, 'server', f)),
    );
    // The in-memory mock API composes an app of its own, as main.ts does.
    const layers = files.filter(
      (f) =>
        dirname(f) !== join(root, 'server') &&
        f.startsWith(join(root, 'server')) &&
        !f.startsWith(join(root, 'server', 'testing')),
    );
    const graph = importGraph(files);
    const upward = layers.flatMap((f) =>
      (graph.get(f) ?? [])
        .filter((t) => composition.has(t))
        .map((t) => `${relative(root, f)} → ${relative(root, t)}`),
    );
    assert.deepEqual(upward, []);
  });

  it('keeps only the composition root at the top level of server/', () => {
    const top = readdirSync(join(root, 'server')).filter((name) =>
      statSync(join(root, 'server', name)).isFile(),
    );
    assert.deepEqual(top.sort(), COMPOSITION_ROOT);
  });
});
