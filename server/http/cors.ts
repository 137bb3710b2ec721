import type { MiddlewareHandler } from 'hono';

export interface CorsOptions {
  /** Origins allowed to call from a browser; `*` among them allows any. */
  origins: readonly string[];
  allowMethods: readonly string[];
  allowHeaders: readonly string[];
  exposeHeaders: readonly string[];
  /** How long a browser may keep a preflight's answer, in seconds. */
  maxAgeSeconds: number;
}

/**
 * CORS with the headers of Hono's `cors()`, written before the route runs
 * with `c.header()`, never through `c.res`: reading `c.res` before the route
 * answers makes Hono copy the route's answer into a second Response, and on
 * @hono/node-server that turns the light JSON answer into a full web Response
 * read back through a stream — a tenth of a usage call's CPU, profiled. A
 * route that builds its own `Response` (a CSV download) does not take
 * prepared headers; those are copied onto it afterwards.
 */
export function corsHeaders(options: CorsOptions): MiddlewareHandler {
  const any = options.origins.includes('*');
  const allowed = new Set(options.origins);
  const expose = options.exposeHeaders.join(',');
  const methods = options.allowMethods.join(',');
  const headers = options.allowHeaders.join(',');
  const maxAge = String(options.maxAgeSeconds);
  return async function cors(c, next) {
    const origin = c.req.header('origin');
    const allowOrigin = any ? '*' : origin && allowed.has(origin) ? origin : null;
    const set: [string, string][] = [];
    if (allowOrigin) set.push(['Access-Control-Allow-Origin', allowOrigin]);
    if (expose) set.push(['Access-Control-Expose-Headers', expose]);
    if (c.req.method === 'OPTIONS') {
      if (!any) set.push(['Vary', 'Origin']);
      set.push(['Access-Control-Max-Age', maxAge], ['Access-Control-Allow-Methods', methods]);
      if (headers) {
        set.push(['Access-Control-Allow-Headers', headers]);
        set.push(['Vary', 'Access-Control-Request-Headers']);
      }
      for (const [name, value] of set) c.header(name, value, { append: name === 'Vary' });
      return c.body(null, 204);
    }
    if (!any) set.push(['Vary', 'Origin']);
    for (const [name, value] of set) c.header(name, value, { append: name === 'Vary' });
    await next();
    // A route that answered with a Response of its own has none of the above
    // (reading the light Response's headers does not turn it into a full one).
    const answered = c.res.headers;
    for (const [name, value] of set) {
      if (name !== 'Vary') {
        if (!answered.has(name)) answered.set(name, value);
      } else if (!(answered.get('Vary') ?? '').split(/\s*,\s*/).includes(value)) {
        answered.append(name, value);
      }
    }
  };
}
