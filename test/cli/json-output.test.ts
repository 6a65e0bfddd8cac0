import test from 'ava';
import Ajv from 'ajv';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcapWriter } from '../../src/net/pcap-writer.js';
import { JSON_OUTPUTS, renderJsonSchema, schemaFileName, type JsonCommand } from '../../src/ui/json/schemas.js';
import { assertXlBuilt, CONFIGS, REPO, scratchFile, xlHost, type XlHost } from '../cli-xl/helpers.js';

// Every --json output has a JSON Schema in schemas/ (generated from src/ui/json/schemas.ts:
// node --import=tsx scripts/gen-json-schemas.ts), and every command's real output,
// run against a daemon, validates against its file.

const SCHEMAS = join(REPO, 'schemas');
const COMMANDS = Object.keys(JSON_OUTPUTS) as JsonCommand[];
/** A spare disk for block-attach (db has xvda and xvdb from its config; this is xvdc). */
const SPARE = scratchFile('spare.img', '\0'.repeat(64 * 1024));
/** Where the save run writes db and the restore run reads it. */
const DB_SAVE = scratchFile('db.save', '');

/** A capture for net-inject: one broadcast ARP request for 10.0.0.9. */
const INJECT = scratchFile('inject.pcap', '');
{
  const w = new PcapWriter({ path: INJECT, log: (l) => console.error(l), defer: () => {} });
  w.write(Buffer.from('ffffffffffff02000000000108060001080006040001020000000001c0a80001000000000000' + '0a000009', 'hex'));
  w.close();
}

/**
 * How to run each command for the check: argument lists (after the command's words),
 * --json added. `$port` is a port of web's that the run before made. A command with
 * --json and no row here fails the "every command is run" test below.
 */
const RUNS: Record<JsonCommand, string[][]> = {
  list: [[], ['web'], ['-l', 'web']],
  'vcpu-list': [[], ['db']],
  uptime: [[]],
  info: [[], ['-n']],
  domid: [['web']],
  domname: [['0']],
  'vm-list': [[]],
  dmesg: [['web']],
  interrupts: [[], ['web']],
  'intr-bind': [['web', 'xenstore0', '0']],
  'evtchn:list': [['web'], ['0']],
  'evtchn:status': [['web', '1'], ['web', '3']],
  'evtchn:alloc-unbound': [['web', '0']],
  'evtchn:bind-interdomain': [['0', 'web', '$port']],
  'evtchn:notify': [['web', '$port']],
  'evtchn:close': [['web', '$port']],
  top: [['-i', '2', '-d', '0.1'], ['-i', '1', '-d', '0.1', '-v']],
  'host:status': [[]],
  'host:start': [[]],
  'host:stop': [[]],
  env: [[]],
  'config:check': [[join(CONFIGS, 'web.yaml'), join(CONFIGS, 'legacy.cfg')]],
  'xenstore:read': [['/local/domain/1/name', '/local/domain/1/domid']],
  'xenstore:ls': [['/local/domain/1/control'], ['-p', '/local/domain/1/control']],
  'xenstore:list': [['/local/domain/1']],
  'xenstore:exists': [['/local/domain/1', '/vm']],
  // Reads only: web's xvda is configs/images/web.img.
  'block-io': [['web', 'xvda', 'read', '--length', '64k', '--bs', '4k', '--qd', '4']],
  // In this order (JSON_OUTPUTS'): attached, listed with it, detached.
  'block-attach': [['db', `vdev=xvdc,access=rw,target=${SPARE}`]],
  'block-list': [['web', 'db'], ['-l', 'db']],
  'block-detach': [['db', 'xvdc']],
  // db has vif 0 from its config: this is vif 1, listed, then detached.
  'network-attach': [['db', 'bridge=xenbr0']],
  'network-list': [['web', 'db']],
  'network-detach': [['db', '1']],
  'xenbus:list': [['web'], ['0']],
  // web's vif (from its config) is up in the guest, with no ip=: ping says so (exit 2, in the JSON), the stream goes from 0.0.0.0.
  'bridge:list': [[]],
  'net-ping': [['web', '10.0.0.9', '-c', '1']],
  'net-inject': [['web', '0', INJECT]],
  'net-send': [['web', '0', '--count', '100', '--size', '64']],
  // In this order: added (one with no target, one on web), listed, cleared.
  'fault:add': [['xs-delay', 'socket', '--delay', '0ms', '--count', '1', '--seed', '3'], ['guest-unresponsive', 'web']],
  'fault:list': [[]],
  'fault:clear': [['--all']],
  // Last: db is saved (and goes), then restored from the file.
  save: [['db', DB_SAVE]],
  restore: [[DB_SAVE]],
};

let h: XlHost;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  for (const config of ['web.yaml', 'db.yaml']) {
    const r = await h.xenemu('create', join(CONFIGS, config));
    if (r.code !== 0) throw new Error(r.stderr);
  }
  await h.until((rs) => rs.filter((x) => x.stateFlags.blocked).length === 2, 'web and db idle');
  for (const d of ['web', 'db']) await h.disksConnected(d);
});

test.after.always(async () => {
  await h?.dispose();
});

test('schemas/ holds one up-to-date file per --json command and nothing else', (t) => {
  t.deepEqual(readdirSync(SCHEMAS).sort(), [...COMMANDS, 'error'].map(schemaFileName).sort());
  for (const c of [...COMMANDS, 'error' as const]) t.is(readFileSync(join(SCHEMAS, schemaFileName(c)), 'utf8'), renderJsonSchema(c), `${c}: run node --import=tsx scripts/gen-json-schemas.ts`);
});

test('every command with a --json flag has a schema and a run here', (t) => {
  const manifest = join(REPO, 'oclif.manifest.json');
  t.true(existsSync(manifest), 'npm run build writes oclif.manifest.json');
  const commands = JSON.parse(readFileSync(manifest, 'utf8')) as { commands: Record<string, { flags: Record<string, unknown> }> };
  const withJson = Object.entries(commands.commands)
    .filter(([, c]) => 'json' in c.flags)
    .map(([id]) => id)
    .sort();
  t.deepEqual(withJson, [...COMMANDS].sort());
  t.deepEqual(Object.keys(RUNS).sort(), [...COMMANDS].sort());
});

test.serial('the same things have the same names: memKiB, cpuTimeNs, name, vcpu, pcpu, affinities as CPU arrays', async (t) => {
  const json = async (...argv: string[]) => JSON.parse((await h.xenemu(...argv, '--json')).stdout) as Record<string, unknown>[];
  const list = await json('list', 'db');
  const vcpus = await json('vcpu-list', 'db');
  const top = JSON.parse((await h.xenemu('top', '--json', '-i', '1', '-d', '0.1')).stdout) as { domains: Record<string, unknown>[]; host: Record<string, unknown> };
  const topDb = top.domains.find((d) => d.name === 'db')!;
  t.is(list[0]!.memKiB, 2048 * 1024);
  t.is(topDb.memKiB, list[0]!.memKiB);
  t.is(typeof topDb.cpuTimeNs, 'number');
  t.is(typeof list[0]!.cpuTimeNs, 'number');
  t.deepEqual(list[0]!.state, topDb.state);
  // db.yaml pins its vCPUs to CPUs 0-3 (the host has 4): arrays, never "all".
  t.deepEqual(
    vcpus.map((v) => [v.name, v.vcpu, v.hardAffinity, v.softAffinity]),
    [
      ['db', 0, [0, 1, 2, 3], [0, 1, 2, 3]],
      ['db', 1, [0, 1, 2, 3], [0, 1, 2, 3]],
      ['db', 2, [0, 1, 2, 3], [0, 1, 2, 3]],
      ['db', 3, [0, 1, 2, 3], [0, 1, 2, 3]],
    ],
  );
  t.true(vcpus.every((v) => (v.online ? typeof v.pcpu === 'number' : v.pcpu === null)));
  const info = (await json('info')) as unknown as { totalMemKiB: number; freeMemKiB: number };
  t.is(top.host.totalMemKiB, info.totalMemKiB);
});

test.serial('a failing command prints its error as JSON (schemas/error.json), the xl verbs and the others alike, and the message on stderr', async (t) => {
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, 'error.json'), 'utf8')) as object);
  for (const argv of [
    ['list', 'nosuch'],
    ['evtchn', 'list', 'nosuch'],
    ['interrupts', 'nosuch'],
  ]) {
    const r = await h.xenemu(...argv, '--json');
    t.is(r.code, 1, argv.join(' '));
    const data = JSON.parse(r.stdout) as { error: { message: string } };
    t.true(validate(data), `${argv.join(' ')}: ${ajv.errorsText(validate.errors)}: ${r.stdout}`);
    t.true(r.stderr.includes(data.error.message), `${argv.join(' ')}: stderr ${r.stderr}`);
  }
});

test.serial('every --json output validates against its schema', async (t) => {
  const ajv = new Ajv({ allErrors: true });
  let port = '';
  let runs = 0;
  // host stop last; then host status of a stopped host (exit 3, as documented).
  const order = [...COMMANDS.filter((c) => c !== 'host:stop'), 'host:stop' as const];
  for (const command of order) {
    const validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, schemaFileName(command)), 'utf8')) as object);
    for (const args of RUNS[command]) {
      const argv = [...command.split(':'), ...args.map((a) => (a === '$port' ? port : a)), '--json'];
      const r = await h.xenemu(...argv);
      t.is(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      // top prints one object per line; the others one document.
      const docs = command === 'top' ? r.stdout.trim().split('\n') : [r.stdout];
      for (const doc of docs) {
        const data = JSON.parse(doc) as unknown;
        t.true(validate(data), `${argv.join(' ')}: ${ajv.errorsText(validate.errors)}\n${doc.slice(0, 2000)}`);
        if (command === 'evtchn:alloc-unbound') port = String((data as { port: number }).port);
      }
      runs++;
    }
  }
  t.true(runs >= COMMANDS.length);
  const stopped = await h.xenemu('host', 'status', '--json');
  t.is(stopped.code, 3);
  const validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, schemaFileName('host:status')), 'utf8')) as object);
  t.true(validate(JSON.parse(stopped.stdout)), ajv.errorsText(validate.errors));
});
