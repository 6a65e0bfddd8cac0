#!/usr/bin/env node
// Runs the ava suite with TAP output, passes it through, and ends with a plain
// "N passed, M failed" line counted from the TAP results, so that a run which
// executed nothing can never look green. Extra arguments go to ava.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const ava = spawn(process.execPath, ['node_modules/ava/entrypoints/cli.mjs', '--tap', ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});

let passed = 0;
let failed = 0;
let skipped = 0;
// ava's own totals: a failed hook fails the tests it guards without a "not ok" line
// for each of them, so the larger of the two counts is the honest one.
let reportedFailed = 0;
const lines = createInterface({ input: ava.stdout });
lines.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  const total = /^# fail (\d+)/.exec(line);
  if (total) reportedFailed = Number(total[1]);
  if (/^not ok \d+/.test(line)) {
    if (/# TODO/.test(line)) skipped++;
    else failed++;
  } else if (/^ok \d+/.test(line)) {
    if (/# (SKIP|TODO)/.test(line)) skipped++;
    else passed++;
  }
});

ava.on('close', (code) => {
  failed = Math.max(failed, reportedFailed);
  if (skipped > 0) console.log(`${skipped} skipped`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code !== 0 || failed > 0 || passed === 0 ? 1 : 0);
});
