import { XL_JS, type Outcome } from './helpers.js';
import { oracle, oracleHost, realXl } from './real-xl-oracle.js';

// cd-insert, cd-eject, vm-list and button-press against the real xl 4.17 on the same
// xenemu host (a lone Domain-0, as the fake libxc has it): the same stdout, stderr and
// status, except that where libxl logs "libxl: error: FILE:LINE:FUNCTION: REASON",
// xenemu says "xenemu: REASON".

const host = oracleHost();

const CASES: string[][] = [
  ['vm-list'],
  ['vm-list', 'x'],
  ['help', 'vm-list'],
  ['button-press', '0'],
  ['button-press', '0', 'foo'],
  ['button-press', 'nosuch', 'power'],
  ['help', 'cd-insert'],
  ['cd-insert', '0', 'hdc'],
  ['cd-eject', '0'],
  ['cd-insert', '0', 'hdc', '/nonexistent/x.iso'],
  ['cd-insert', '0', 'hdc', 'relative.iso'],
  ['cd-insert', 'nosuch', 'hdc', '/etc/passwd'],
  // Domain-0 is a PV domain: libxl_cdrom_insert() refuses it.
  ['cd-insert', '0', 'hdc', '/etc/passwd'],
  ['cd-eject', '0', 'hdc'],
  // -N is accepted (the table says it can dry-run) and changes nothing in what it does.
  ['-N', 'cd-eject', '0', 'hdc'],
  // A domid no domain has: libxl__domain_type() says so.
  ['cd-insert', '7', 'hdc', '/etc/passwd'],
];

const libxlLog = (o: Outcome): Outcome => ({ ...o, stderr: o.stderr.replace(/^libxl: error: [a-z_]+\.c:[0-9]+:[a-z_]+: /gm, 'xenemu: ') });

oracle('cd-insert, cd-eject, vm-list, button-press: the same output and status as xl 4.17 (libxl\'s log lines as xenemu\'s)', async (t) => {
  for (const args of CASES) {
    const [real, ours] = await Promise.all([realXl(host(), args), host().xl(...args)]);
    t.deepEqual({ ...ours, stderr: ours.stderr.split(XL_JS).join('xl') }, libxlLog(real), `xl ${args.join(' ')}`);
  }
});
