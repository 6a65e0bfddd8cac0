// tools/xl/xl_cmdtable.c (compiled into cmdtable-data.ts by tools/regen.sh), help()
// in xl.c (:476-506) and def_getopt() in xl_utils.c (:151-187), Xen 4.17.
import test from 'ava';
import {
  formatCommandHelp,
  formatHelpList,
  formatTooFewArguments,
  formatUnsupportedOption,
  lookupCommand,
  XENEMU_XL_COMMANDS,
  XL_CMD_TABLE,
} from '../../src/ui/xl/cmdtable.js';

test('the table has the 92 commands of 4.17, in order', (t) => {
  t.is(XL_CMD_TABLE.length, 92);
  t.is(XL_CMD_TABLE[0]!.name, 'create');
  t.is(XL_CMD_TABLE[91]!.name, 'qemu-monitor-command');
  for (const name of XENEMU_XL_COMMANDS) t.truthy(lookupCommand(name), name);
});

test('help for a command: flags from modifies/can_dryrun, usage, "desc.", options (xl.c:493-500)', (t) => {
  t.is(formatCommandHelp('mem-set'), "Usage: xl [-vtTf] mem-set <Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>\n\nSet the current memory usage for a domain.\n\n");
  // list's usage ends with "\n" in the table, so a blank line follows it.
  t.is(
    formatCommandHelp('list'),
    'Usage: xl [-vtT] list [options] [Domain]\n\n\nList information about all/some domains.\n\nOptions:\n\n' +
      '-l, --long              Output all VM details\n-v, --verbose           Prints out UUIDs and security context\n' +
      '-Z, --context           Prints out security context\n-c, --cpupool           Prints the cpupool the domain is in\n' +
      '-n, --numa              Prints out NUMA node affinity\n',
  );
  t.true(formatCommandHelp('create').startsWith('Usage: xl [-vtTfN] create <ConfigFile> [options] [vars]\n\nCreate a domain from config file <filename>.\n\nOptions:\n\n-c  '));
  // vcpu-pin is { &main_vcpupin, 1, 1 }: it can dry-run (-N prints the cpumap).
  t.is(formatCommandHelp('vcpu-pin').split('\n')[0], 'Usage: xl [-vtTfN] vcpu-pin [option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>');
  t.is(formatCommandHelp('info'), 'Usage: xl [-vtT] info -n, --numa         List host NUMA topology information\n\nGet information about Xen host.\n\n');
});

test('prefixes resolve when unambiguous; unknown commands are "not implemented"', (t) => {
  t.is(lookupCommand('vcpu-l')?.name, 'vcpu-list');
  t.is(lookupCommand('vcpu'), undefined);
  t.is(lookupCommand('list')?.name, 'list'); // exact match wins over list-… prefixes
  t.is(formatCommandHelp('bogus'), 'command "bogus" not implemented\n');
  t.true(formatCommandHelp('uptim').startsWith('Usage: xl [-vtT] uptime [-s] [Domain]\n\nPrint uptime for all/some domains.\n\n'));
});

test('xl help lists " %-19s desc", wrapping names longer than 19 (xl.c:482-489)', (t) => {
  const lines = formatHelpList().split('\n');
  t.is(lines[0], 'Usage xl [-vfNtT] <subcommand> [args]');
  t.is(lines[2], 'xl full list of subcommands:');
  t.is(lines[4], ' create              Create a domain from config file <filename>');
  const i = lines.indexOf(' pci-assignable-remove ');
  t.true(i > 0);
  t.is(lines[i + 1], `${' '.repeat(21)}Remove a device from being assignable`);
});

test('def_getopt complaints', (t) => {
  t.is(formatTooFewArguments('mem-set', 2), "'xl mem-set' requires at least 2 arguments.\n\n");
  t.is(formatTooFewArguments('pause', 1), "'xl pause' requires at least 1 argument.\n\n");
  t.is(formatUnsupportedOption('q'), "option `q' not supported.\n");
});
