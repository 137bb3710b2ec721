/**
 * `npm run bench`: size, speed and scaling, side by side, as one markdown
 * table. Each comparison is a ratio measured in the same run; each figure is a
 * median of several runs. `npm run bench -- http scaling` runs some sections.
 */
import { cpus } from 'node:os';
import { historyBench } from './history.js';
import { httpBench, type Row } from './http.js';
import { liveBench } from './live.js';
import { postgresBench } from './postgres.js';
import { scalingBench } from './scaling.js';
import { webhooksBench } from './webhooks.js';
import { widgetBench } from './widget.js';

const sections: Record<string, () => Promise<Row[]>> = {
  widget: () => widgetBench(),
  http: () => httpBench(),
  scaling: () => scalingBench(),
  postgres: () => postgresBench(),
  live: () => liveBench(),
  history: () => historyBench(),
  webhooks: () => webhooksBench(),
};

const only = process.argv.slice(2);
const rows: Row[] = [];
const started = Date.now();
for (const [name, run] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  console.error(`bench: ${name}…`);
  rows.push(...(await run()));
}
console.log(`\n| figure | value | goal |\n| --- | --- | --- |`);
for (const r of rows) console.log(`| ${r.figure} | ${r.value} | ${r.goal} |`);
console.log(
  `\nMachine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}; ${((Date.now() - started) / 1000).toFixed(0)} s.`,
);
