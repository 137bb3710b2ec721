import { defineConfig, type Plugin } from 'vite';

const api = `http://127.0.0.1:${process.env.PORT ?? 8787}`;

/**
 * `npm run dev`: the demo pages on Vite's dev server, with the widget from its
 * sources (hot reload) and the API, the demo backend and the partner API
 * proxied to the API process that `scripts/dev.mjs` starts beside it.
 */
function demoPages(): Plugin {
  const pages: Record<string, string> = {
    '/': '/demo/index.html',
    '/demo/billing': '/demo/index.html',
    '/demo/partner': '/demo/partner.html',
  };
  return {
    name: 'minute-topup-demo-pages',
    configureServer(server) {
      server.middlewares.use((req, _res, next) => {
        const [path, query = ''] = (req.url ?? '/').split('?');
        if (pages[path]) req.url = pages[path] + (query ? `?${query}` : '');
        else if (path.startsWith('/demo/assets/'))
          req.url = path.replace('/demo/assets/', '/demo/public/');
        next();
      });
    },
    transformIndexHtml: {
      order: 'pre',
      handler: (html) =>
        html
          .replace('/dist/minute-topup.js', '/widget/index.ts')
          .replaceAll('/demo/assets/', '/demo/public/'),
    },
  };
}

/** Where `npm run build:package` writes the npm package's code (see `packages/minute-topup/`). */
const PACKAGE_DIST = 'packages/minute-topup/dist';

/**
 * `vite build` writes the widget, `dist/minute-topup.js`: one minified,
 * self-contained ES module with Lit inside (what the API serves at
 * `/widget/minute-topup.js`). `vite build --mode mocks` writes `dist/mocks.js`:
 * msw handlers over the real API, for hosts' tests (msw stays external). Two
 * builds, so the widget can never share a chunk with the mocks.
 *
 * `vite build --mode package` writes the npm package's entries into
 * `packages/minute-topup/dist/`: `index.js` (registers the elements),
 * `react.js`, `preact.js` and `mocks.js`, with Lit, React, Preact and msw left
 * to the host's bundler (they are the package's dependencies and peers).
 */
export default defineConfig(({ mode, command }) => {
  if (command === 'serve') {
    return {
      publicDir: false,
      plugins: [demoPages()],
      server: {
        port: 5173,
        proxy: { '/v1': api, '/demo/api': api, '/partner': api },
      },
    };
  }
  if (mode === 'package') {
    return {
      publicDir: false,
      build: {
        target: 'es2022',
        outDir: PACKAGE_DIST,
        emptyOutDir: true,
        sourcemap: true,
        lib: {
          entry: {
            index: 'widget/index.ts',
            react: 'widget/react.ts',
            preact: 'widget/preact.ts',
            mocks: 'mocks/index.ts',
          },
          formats: ['es'],
          fileName: (_format, name) => `${name}.js`,
        },
        rolldownOptions: {
          external: [/^lit(\/|$)/, /^@lit\//, /^react(-dom)?(\/|$)/, /^preact(\/|$)/, /^msw(\/|$)/],
          output: {
            minify: true,
            chunkFileNames: 'chunks/[name]-[hash].js',
            // React Server Components frameworks (Next.js) need it on the module that uses hooks.
            banner: (chunk) => (chunk.name === 'react' && chunk.isEntry ? "'use client';" : ''),
          },
        },
      },
    };
  }
  const mocks = mode === 'mocks';
  return {
    publicDir: false,
    build: {
      target: 'es2022',
      emptyOutDir: !mocks,
      sourcemap: true,
      lib: {
        entry: mocks ? 'mocks/index.ts' : 'widget/index.ts',
        formats: ['es'],
        fileName: () => (mocks ? 'mocks.js' : 'minute-topup.js'),
      },
      rolldownOptions: {
        external: mocks ? [/^msw(\/|$)/] : [],
        output: { minify: true },
      },
    },
  };
});
