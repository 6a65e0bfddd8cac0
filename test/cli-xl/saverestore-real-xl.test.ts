import { join } from 'node:path';
import { scratch, scratchFile, XL_JS } from './helpers.js';
import { oracle, oracleHost, realXl } from './real-xl-oracle.js';

// A save file of ours against the real xl 4.17's restore (run without a hypervisor,
// see real-xl-oracle.ts): it reads our xl header, takes the config from it and parses
// that JSON with libxl_domain_config_from_json (-d prints the result), then stops where
// it needs Xen to build the domain. Up to there, our shim says what it says.

const host = oracleHost();

oracle("the real xl restore reads our save file's header and config as it reads its own", async (t) => {
  const h = host();
  const r = await h.xl('create', '-q', scratchFile('real.yaml', 'name: real\ntype: pv\nmemory: 64\nvcpus: 2\n'));
  t.is(r.code, 0, r.stderr);
  await h.until((rows) => rows.some((x) => x.name === 'real' && x.stateFlags.blocked), 'real idle');
  const file = join(scratch('xe-real-sr-'), 'real.save');
  t.is((await h.xl('save', '-c', 'real', file)).code, 0);
  const uuid = (await (await h.client()).listLong(['real']))[0]!.config.c_info!.uuid;

  const real = await realXl(h, ['restore', '-d', '-p', file]);
  const expected = `Loading new save file ${file} (new xl fmt info 0x3/0x0/`;
  t.true(real.stderr.startsWith(expected), real.stderr);
  t.regex(real.stderr, /^Loading new save file .*\n Savefile contains xl domain config in JSON format\nParsing config from <saved>\n/);
  // What libxl_domain_config_from_json made of the stored config, printed back by -d (on stderr).
  const printed = real.stderr.slice(real.stderr.indexOf('{\n'), real.stderr.indexOf('\n}\n') + 2);
  const parsed = JSON.parse(printed) as { c_info: { name: string; uuid: string; type: string }; b_info: { max_vcpus: number; max_memkb: number } };
  t.like(parsed, { c_info: { name: 'real', uuid, type: 'pv' }, b_info: { max_vcpus: 2, max_memkb: 65536 } });

  // Our restore says the same up to where the real one needs Xen (it fails as the domain exists).
  const ours = await h.xl('restore', '-p', file);
  const head = (s: string) => s.split('\n').slice(0, 3).join('\n');
  t.is(head(ours.stderr.split(XL_JS).join('xl')), head(real.stderr));
});
