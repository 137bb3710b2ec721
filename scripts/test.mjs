#!/usr/bin/env node
/**
 * `npm test`: every suite, in order — types, the server suites (Node's test
 * runner), the widget suites (web-test-runner in Chromium), the npm package
 * (packed, installed into an empty project), the reliability and end-to-end
 * suites — then one closing line with the totals. Exits non-zero when any
 * suite fails. `npm test -- server` (or widget, e2e, types) runs just those.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';

const nodeTests = (dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.test.ts'))
        .sort()
        .map((f) => `${dir}/${f}`)
    : [];

const suites = [
  { name: 'types', cmd: 'npx', args: ['tsc', '--noEmit', '-p', '.'], count: () => null },
  {
    name: 'server',
    cmd: process.execPath,
    args: ['--import', 'tsx', '--test', '--test-reporter=spec', ...nodeTests('test/server')],
    count: nodeCounts,
  },
  { name: 'widget', cmd: 'npm', args: ['run', '--silent', 'test:widget'], count: wtrCounts },
  {
    // The npm package: packed, installed into an empty project, typechecked and driven in Chromium.
    name: 'package',
    cmd: process.execPath,
    args: ['--import', 'tsx', '--test', '--test-reporter=spec', ...nodeTests('test/package')],
    count: nodeCounts,
  },
  {
    name: 'reliability',
    cmd: process.execPath,
    args: ['--import', 'tsx', '--test', '--test-reporter=spec', ...nodeTests('test/reliability')],
    count: nodeCounts,
    before: () => rmSync(RELIABILITY_REPORT, { force: true }),
    after: printReliabilityTable,
  },
  {
    name: 'e2e',
    cmd: process.execPath,
    args: ['--import', 'tsx', '--test', '--test-reporter=spec', ...nodeTests('test/e2e')],
    count: nodeCounts,
    skipWhen: () => nodeTests('test/e2e').length === 0,
  },
];

const RELIABILITY_REPORT = '.tmp/reliability.jsonl';

/** The table of what the reliability suites tried and what held (see test/support/reliability-report.ts). */
function printReliabilityTable() {
  if (!existsSync(RELIABILITY_REPORT)) return;
  const rows = readFileSync(RELIABILITY_REPORT, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  console.log('\n| tried | figures | what had to hold | held |\n| --- | --- | --- | --- |');
  for (const r of rows)
    console.log(`| ${r.tried} | ${r.figures} | ${r.check} | ${r.held ? 'yes' : '**no**'} |`);
}

function nodeCounts(out) {
  const pass = [...out.matchAll(/^ℹ pass (\d+)/gm)].at(-1)?.[1];
  const fail = [...out.matchAll(/^ℹ fail (\d+)/gm)].at(-1)?.[1];
  return pass === undefined ? null : { passed: Number(pass), failed: Number(fail ?? 0) };
}

function wtrCounts(out) {
  // eslint-disable-next-line no-control-regex
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const m = [...plain.matchAll(/(\d+) passed, (\d+) failed/g)].at(-1);
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : null;
}

function run(suite) {
  return new Promise((resolve) => {
    const child = spawn(suite.cmd, suite.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      out += d;
      process.stderr.write(d);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

const only = process.argv.slice(2);
let passed = 0;
let failed = 0;
const failedSuites = [];
for (const suite of suites) {
  if (only.length && !only.includes(suite.name)) continue;
  if (suite.skipWhen?.()) continue;
  console.log(`\n=== ${suite.name} ===`);
  suite.before?.();
  const { code, out } = await run(suite);
  suite.after?.();
  const counts = suite.count(out);
  if (counts) {
    passed += counts.passed;
    failed += counts.failed;
  }
  if (code !== 0) {
    failedSuites.push(suite.name);
    if (!counts || counts.failed === 0) failed += 1; // a suite that broke without counting
  }
}
console.log(
  `\n${failedSuites.length ? `Failed suites: ${failedSuites.join(', ')}` : 'All suites passed.'}`,
);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failedSuites.length ? 1 : 0);
