import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createApp } from '../../server/app.js';
import { widgetBundleRoutes } from '../../server/routes/widget-bundle.js';
import { defaultCatalog } from '../../server/domain/catalog.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import { MemoryStore } from '../../server/store/memory.js';
import { SECRET } from '../support/api.js';

/**
 * The API serves the widget bundle itself at a stable URL, to any
 * origin, with a strong ETag (304 when it matches) and a short public cache;
 * a missing bundle is a 404 in the error shape, never a crash.
 */

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function bundleDir(js = 'export const x = 1;\n//# sourceMappingURL=minute-topup.js.map\n') {
  const dir = mkdtempSync(join(tmpdir(), 'minute-topup-bundle-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'minute-topup.js'), js);
  writeFileSync(join(dir, 'minute-topup.js.map'), '{"version":3,"sources":[],"mappings":""}');
  return dir;
}

function appServing(widgetBundleDir: string | undefined) {
  const unexpected: Error[] = [];
  const app = createApp({
    store: new MemoryStore(),
    gateway: new TestPaymentGateway(),
    logError: (err) => unexpected.push(err),
    config: { secretKey: SECRET, catalog: defaultCatalog },
    widgetBundle: widgetBundleDir ? widgetBundleRoutes(widgetBundleDir) : undefined,
  });
  return { app, unexpected };
}

describe('GET /widget/minute-topup.js', () => {
  it('serves the bundle to any origin, without credentials, with an ETag and a cache header', async () => {
    const dir = bundleDir();
    const { app, unexpected } = appServing(dir);
    const res = await app.request('/widget/minute-topup.js', {
      headers: { origin: 'https://dashboard.customer.example' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('etag') ?? '', /^"[\w-]{16,}"$/, 'a strong ETag');
    assert.match(res.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
    assert.doesNotMatch(res.headers.get('cache-control') ?? '', /immutable/);
    const text = await res.text();
    assert.equal(text, 'export const x = 1;\n//# sourceMappingURL=minute-topup.js.map\n');
    assert.deepEqual(unexpected, []);
  });

  it('answers 304 with no body on a matching If-None-Match, 200 on another', async () => {
    const { app } = appServing(bundleDir());
    const first = await app.request('/widget/minute-topup.js');
    const etag = first.headers.get('etag')!;
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await app.request('/widget/minute-topup.js', {
        headers: { 'if-none-match': ifNoneMatch },
      });
      assert.equal(res.status, 304, ifNoneMatch);
      assert.equal(await res.text(), '');
      assert.equal(res.headers.get('etag'), etag);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.ok(res.headers.get('cache-control'));
    }
    const stale = await app.request('/widget/minute-topup.js', {
      headers: { 'if-none-match': '"an-older-build"' },
    });
    assert.equal(stale.status, 200);
    assert.ok((await stale.text()).length > 0);
  });

  it('serves the source map the bundle points at, beside it', async () => {
    const { app } = appServing(bundleDir());
    const js = await (await app.request('/widget/minute-topup.js')).text();
    const mapUrl = /\/\/# sourceMappingURL=(\S+)/.exec(js)?.[1];
    assert.ok(mapUrl);
    const path = new URL(mapUrl, 'https://api.example/widget/minute-topup.js').pathname;
    assert.equal(path, '/widget/minute-topup.js.map');
    const res = await app.request(path);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.ok(res.headers.get('etag'));
    assert.equal(JSON.parse(await res.text()).version, 3);
  });

  it('serves a build replaced in place, even with the same size and modification time', async () => {
    const dir = bundleDir('export const v = 1;\n');
    const file = join(dir, 'minute-topup.js');
    const built = new Date('2026-01-01T00:00:00Z');
    utimesSync(file, built, built);
    const { app } = appServing(dir);
    const first = await app.request('/widget/minute-topup.js');
    assert.equal(await first.text(), 'export const v = 1;\n');
    const again = await app.request('/widget/minute-topup.js');
    assert.equal(again.headers.get('etag'), first.headers.get('etag'));
    // Other bytes, same size, the modification time set back (a copy that keeps
    // times): the change of ctime shows it, and the new content is served.
    writeFileSync(file, 'export const v = 2;\n');
    utimesSync(file, built, built);
    const second = await app.request('/widget/minute-topup.js');
    assert.equal(await second.text(), 'export const v = 2;\n');
    assert.notEqual(second.headers.get('etag'), first.headers.get('etag'));
    // A new build (a new modification time): the new content and a new ETag.
    const later = new Date('2026-01-02T00:00:00Z');
    writeFileSync(file, 'export const version = 3;\n');
    utimesSync(file, later, later);
    const third = await app.request('/widget/minute-topup.js');
    assert.equal(await third.text(), 'export const version = 3;\n');
    assert.notEqual(third.headers.get('etag'), second.headers.get('etag'));
  });

  it('is a 404 in the error shape when the bundle is not built, and not an unexpected error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minute-topup-nobundle-'));
    dirs.push(dir);
    const { app, unexpected } = appServing(dir);
    for (const path of ['/widget/minute-topup.js', '/widget/minute-topup.js.map']) {
      const res = await app.request(path);
      assert.equal(res.status, 404);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'not_found');
      assert.match(body.error.message, /npm run build/);
    }
    assert.deepEqual(unexpected, []);
  });

  it('serves nothing else from the folder', async () => {
    const dir = bundleDir();
    writeFileSync(join(dir, 'mocks.js'), 'export {}');
    const { app } = appServing(dir);
    for (const path of ['/widget/mocks.js', '/widget/../package.json', '/widget/', '/widget']) {
      assert.equal((await app.request(path)).status, 404, path);
    }
  });

  it('is not mounted without a bundle folder (the in-browser mock)', async () => {
    const { app } = appServing(undefined);
    assert.equal((await app.request('/widget/minute-topup.js')).status, 404);
  });
});
