/** Custom-elements manifest of the widget (`custom-elements.json`), read by IDEs and doc tools. */
export default {
  globs: ['widget/**/*.ts'],
  exclude: ['widget/**/*.test.ts'],
  outdir: '.',
  litelement: true,
  // package.json names the manifest itself; the package build must not rewrite it.
  packagejson: false,
};
