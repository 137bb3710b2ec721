import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Hono } from 'hono';
import { HttpError } from '../http/errors.js';

/** The files served, by the name they have in the bundle folder and in the URL. */
const FILES = {
  'minute-topup.js': 'text/javascript; charset=utf-8',
  'minute-topup.js.map': 'application/json; charset=utf-8',
} as const;

type FileName = keyof typeof FILES;

/**
 * A stable URL whose content changes with each release: caches may keep it
 * a few minutes, then revalidate with the ETag (a 304 costs no body).
 */
const CACHE_CONTROL = 'public, max-age=300';

interface Cached {
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  size: number;
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

/**
 * `GET /widget/minute-topup.js` and its source map, straight from the built
 * `dist/` folder (`dir`), for any page on any origin (the embedding recipe
 * loads the widget from the API, demo or not): CORS `*`, a
 * strong ETag (a hash of the content) answered with 304 on a matching
 * `If-None-Match`, and a short public cache. Each file is read once and again
 * only when its modification time or size changes (a rebuild); a request
 * costs one `stat`. A missing bundle is a 404 in the API's error shape.
 *
 * @example
 * app.route('/widget', widgetBundleRoutes(fileURLToPath(new URL('../dist', import.meta.url))));
 */
export function widgetBundleRoutes(dir: string) {
  const cache = new Map<FileName, Cached>();

  async function load(name: FileName): Promise<Cached> {
    const path = join(dir, name);
    let info;
    try {
      info = await stat(path);
    } catch {
      throw missing(name);
    }
    const cached = cache.get(name);
    // ctime and inode too: a rebuild in place may keep the size and set the mtime back.
    if (
      cached &&
      cached.mtimeMs === info.mtimeMs &&
      cached.ctimeMs === info.ctimeMs &&
      cached.ino === info.ino &&
      cached.size === info.size
    ) {
      return cached;
    }
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = new Uint8Array(await readFile(path));
    } catch {
      // Gone between the stat and the read: a build is replacing it.
      throw missing(name);
    }
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 32);
    const fresh = {
      mtimeMs: info.mtimeMs,
      ctimeMs: info.ctimeMs,
      ino: info.ino,
      size: info.size,
      body,
      etag: `"${hash}"`,
    };
    cache.set(name, fresh);
    return fresh;
  }

  const app = new Hono();
  for (const name of Object.keys(FILES) as FileName[]) {
    app.get(`/${name}`, async (c) => {
      const file = await load(name);
      const headers: Record<string, string> = {
        'Access-Control-Allow-Origin': '*',
        // A page with Cross-Origin-Embedder-Policy may load it too.
        'Cross-Origin-Resource-Policy': 'cross-origin',
        'Cache-Control': CACHE_CONTROL,
        ETag: file.etag,
        'X-Content-Type-Options': 'nosniff',
      };
      if (matches(c.req.header('if-none-match'), file.etag)) {
        return c.body(null, 304, headers);
      }
      return c.body(file.body, 200, { ...headers, 'Content-Type': FILES[name] });
    });
  }
  return app;
}

/** `If-None-Match` against our ETag: `*`, or any listed tag, compared weakly (RFC 9110 §13.1.2). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function missing(name: string): HttpError {
  return new HttpError(
    'not_found',
    `The widget bundle (${name}) is not built on this server: run "npm run build".`,
  );
}
