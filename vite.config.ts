import { defineConfig } from 'vite';

/**
 * `vite build` writes the widget, `dist/minute-topup.js`: one minified,
 * self-contained ES module with Lit inside. `vite build --mode mocks` writes
 * `dist/mocks.js`: msw handlers over the real API, for hosts' tests (msw stays
 * external). Two builds, so the widget can never share a chunk with the mocks.
 */
export default defineConfig(({ mode }) => {
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
