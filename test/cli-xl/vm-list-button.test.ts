import test from 'ava';
import { join } from 'node:path';
import { assertXlBuilt, CONFIGS, scratchFile, xlHost, type XlHost } from './helpers.js';

// xl vm-list (xl_info.c list_vm) and xl button-press (xl_misc.c, deprecated for
// trigger), through the xl shim and `xenemu`.

let h: XlHost;

test.before(async () => {
  assertXlBuilt();
  h = await xlHost();
  for (const config of [join(CONFIGS, 'db.yaml'), scratchFile('hvm1.cfg', 'name = "hvm1"\ntype = "hvm"\nmemory = 64\n')]) {
    const r = await h.xl('create', '-q', config);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  await h.until((rs) => rs.filter((x) => x.stateFlags.blocked).length === 2, 'db and hvm1 idle');
});

test.after.always(async () => {
  await h?.dispose();
});

const WARNING = 'WARNING: "button-press" is deprecated. Please use "trigger"\n';

test.serial('vm-list: UUID, id and name of every domain, Domain-0 included (libxl_list_vm skips only stub domains), byte for byte', async (t) => {
  const rows = await (await h.client()).list();
  t.is(rows.length, 3);
  // printf(LIBXL_UUID_FMT "  %d    %-30s\n"): lower-case UUID, the name padded to 30.
  const expected = 'UUID                                  ID    name\n' + rows.map((r) => `${r.uuid.toLowerCase()}  ${r.domid}    ${r.name!.padEnd(30)}\n`).join('');
  t.true(expected.includes(`\n00000000-0000-0000-0000-000000000000  0    ${'Domain-0'.padEnd(30)}\n`));
  t.deepEqual(await h.xl('vm-list'), { stdout: expected, stderr: '', code: 0 });
  t.deepEqual(await h.xenemu('vm-list'), { stdout: expected, stderr: '', code: 0 });
  t.deepEqual(
    JSON.parse((await h.xenemu('vm-list', '--json')).stdout),
    rows.map((r) => ({ uuid: r.uuid.toLowerCase(), domid: r.domid, name: r.name })),
  );
  // No arguments: an extra one is ignored, as SWITCH_FOREACH_OPT(..., 0) leaves it.
  t.is((await h.xl('vm-list', 'x')).stdout, expected);
});

test.serial('button-press: the warning first, only power or sleep, a PV guest refuses as trigger does', async (t) => {
  // The warning comes before the arguments are looked at.
  const usage = await h.xl('button-press', 'hvm1');
  t.is(usage.code, 2);
  t.is(usage.stderr, `${WARNING}'xl button-press' requires at least 2 arguments.\n\n`);
  t.deepEqual(await h.xl('button-press', 'hvm1', 'reset'), { stdout: '', stderr: `${WARNING}reset is an invalid button identifier\n`, code: 1 });
  t.deepEqual(await h.xl('button-press', 'hvm1', 'Power'), { stdout: '', stderr: `${WARNING}Power is an invalid button identifier\n`, code: 1 });
  t.deepEqual(await h.xl('button-press', 'nosuch', 'power'), { stdout: '', stderr: `${WARNING}nosuch is an invalid domain identifier (rc=-6)\n`, code: 1 });
  t.deepEqual(await h.xenemu('button-press', 'db', 'power'), {
    stdout: '',
    stderr: `${WARNING}xenemu: Send trigger 'power' failed: domain 1 is a PV guest: the power button is an ACPI event of HVM guests\n`,
    code: 1,
  });
  // The sleep button of an HVM guest is logged and ignored; its power button powers it off (on_poweroff: destroy).
  t.deepEqual(await h.xenemu('button-press', 'hvm1', 'sleep'), { stdout: '', stderr: WARNING, code: 0 });
  t.deepEqual(await h.xl('button-press', 'hvm1', 'power'), { stdout: '', stderr: WARNING, code: 0 });
  await h.until((rs) => !rs.some((r) => r.name === 'hvm1'), 'hvm1 powered off');
  t.pass();
});
