import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

/**
 * npm 11 runs dependency install scripts only while they are listed in
 * `allowScripts` (and a later npm blocks the unlisted ones): the project
 * names each of its own, so a fresh install is quiet and keeps working.
 */
describe('install scripts', () => {
  it('declares every dependency install script in allowScripts', () => {
    const out = execFileSync('npm', ['install-scripts', 'ls'], { encoding: 'utf8' });
    assert.match(out, /No packages with unreviewed install scripts/, out);
  });

  it('allows the native SQLite build and esbuild, and nothing by default', () => {
    const { allowScripts } = JSON.parse(readFileSync('package.json', 'utf8')) as {
      allowScripts: Record<string, boolean>;
    };
    assert.equal(allowScripts['better-sqlite3'], true);
    assert.equal(allowScripts.esbuild, true);
    // msw's postinstall only copies its worker into a folder named in package.json; we serve it from node_modules.
    assert.equal(allowScripts.msw, false);
  });
});
