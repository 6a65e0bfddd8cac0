/**
 * xl's command table and the help texts built from it (tools/xl/xl_cmdtable.c,
 * help() in xl.c, def_getopt() in xl_utils.c). The table itself is generated from
 * the C file by test/ui-xl/tools/regen.sh, so string concatenation, the trailing
 * newlines some usages carry ("[options] [Domain]\n") and the x86-only entries are
 * exactly the compiled ones.
 */

import { XL_CMD_TABLE } from './cmdtable-data.js';
import { cprintf } from './cprintf.js';

export { XL_CMD_TABLE } from './cmdtable-data.js';

export interface XlCommandSpec {
  readonly name: string;
  /** Honours the global -N (dry run); help shows it as "N" in "[-vtT…]". */
  readonly canDryrun: boolean;
  /** Changes state; help shows "f" (the global -f) in "[-vtT…]". */
  readonly modifies: boolean;
  /** cmd_desc: the one-line summary of `xl help`. */
  readonly desc: string;
  /** cmd_usage: what follows the command name on the Usage line. */
  readonly usage: string;
  /** cmd_option: the "Options:" block, or null for commands without one. */
  readonly options: string | null;
}

/** The commands xenemu implements, in xl's table order. */
export const XENEMU_XL_COMMANDS = [
  'create',
  'list',
  'destroy',
  'shutdown',
  'reboot',
  'pause',
  'unpause',
  'console',
  'save',
  'migrate',
  'restore',
  'migrate-receive',
  'cd-insert',
  'cd-eject',
  'mem-max',
  'mem-set',
  'button-press',
  'vcpu-list',
  'vcpu-pin',
  'vcpu-set',
  'vm-list',
  'info',
  'sched-credit',
  'sched-credit2',
  'sched-rtds',
  'domid',
  'domname',
  'rename',
  'dmesg',
  'uptime',
  'sysrq',
  'trigger',
  'debug-keys',
  'network-attach',
  'network-list',
  'network-detach',
  'block-attach',
  'block-list',
  'block-detach',
  'top',
  // The listers of what the emulated host has none of (src/compat/xl-listers.ts).
  'pci-list',
  'pci-assignable-list',
  'usb-list',
  'vtpm-list',
  'vkb-list',
  'vdispl-list',
  'vsnd-list',
  'channel-list',
  'claims',
  'getenforce',
  'cpupool-list',
] as const;

export type XenemuXlCommand = (typeof XENEMU_XL_COMMANDS)[number];

/**
 * cmdtable_lookup(): an exact name, or else a prefix that matches exactly one
 * command ("vcpu-l" finds vcpu-list, "vcpu" finds nothing).
 */
export function lookupCommand(s: string, table: readonly XlCommandSpec[] = XL_CMD_TABLE): XlCommandSpec | undefined {
  let found: XlCommandSpec | undefined;
  let count = 0;
  for (const cmd of table) {
    if (cmd.name.startsWith(s)) {
      if (cmd.name.length === s.length) return cmd;
      found = cmd;
      count++;
    }
  }
  return count === 1 ? found : undefined;
}

/** help(NULL) / `xl help`: the usage line and every command with its summary. */
export function formatHelpList(table: readonly XlCommandSpec[] = XL_CMD_TABLE): string {
  let out = 'Usage xl [-vfNtT] <subcommand> [args]\n\n';
  out += 'xl full list of subcommands:\n\n';
  for (const cmd of table) {
    out += cprintf(' %-19s ', cmd.name);
    if (cmd.name.length > 19) out += cprintf('\n %-19s ', '');
    out += `${cmd.desc}\n`;
  }
  return out;
}

/**
 * help(command): `xl help CMD`, `xl CMD -h`, and what follows a usage error. An
 * unknown command prints `command "X" not implemented`. Prefixes resolve as in
 * cmdtable_lookup(), and the Usage line shows the full name.
 */
export function formatCommandHelp(command: string, table: readonly XlCommandSpec[] = XL_CMD_TABLE): string {
  if (command === 'help') return formatHelpList(table);
  const cmd = lookupCommand(command, table);
  if (cmd === undefined) return `command "${command}" not implemented\n`;
  let out = `Usage: xl [-vtT${cmd.modifies ? 'f' : ''}${cmd.canDryrun ? 'N' : ''}] ${cmd.name} ${cmd.usage}\n\n${cmd.desc}.\n\n`;
  if (cmd.options !== null) out += `Options:\n\n${cmd.options}\n`;
  return out;
}

/**
 * def_getopt()'s complaint when too few arguments remain (stderr), followed in xl by
 * help(command) on stdout and exit status 2.
 */
export function formatTooFewArguments(command: string, required: number): string {
  return `'xl ${command}' requires at least ${required} argument${required > 1 ? 's' : ''}.\n\n`;
}

/** def_getopt()'s complaint about an unknown option character (stderr; exit status 2). */
export function formatUnsupportedOption(optopt: string): string {
  return `option \`${optopt}' not supported.\n`;
}

/** main() for a name that is neither a command nor "help" (stderr; exit status 1). */
export const COMMAND_NOT_IMPLEMENTED = 'command not implemented\n';

/** main() when -N is given to a command that cannot dry-run (stderr; exit status 1). */
export const NO_DRYRUN = 'command does not implement -N (dryrun) option\n';

/** main() for an unknown global option (stderr; exit status 1). */
export const UNKNOWN_GLOBAL_OPTION = 'unknown global option\n';

/**
 * The minimum positional arguments def_getopt() demands (SWITCH_FOREACH_OPT's last
 * argument in each main_*), for the commands xenemu implements.
 */
export const XL_REQUIRED_ARGS: Readonly<Record<XenemuXlCommand, number>> = {
  create: 0,
  list: 0,
  destroy: 1,
  shutdown: 0,
  reboot: 0,
  pause: 1,
  unpause: 1,
  console: 1,
  save: 2,
  migrate: 2,
  restore: 1,
  'migrate-receive': 0,
  'cd-insert': 3,
  'cd-eject': 2,
  'mem-max': 2,
  'mem-set': 2,
  'button-press': 2,
  'vcpu-list': 0,
  'vcpu-pin': 3,
  'vcpu-set': 2,
  'vm-list': 0,
  info: 0,
  'sched-credit': 0,
  'sched-credit2': 0,
  'sched-rtds': 0,
  domid: 1,
  domname: 1,
  rename: 2,
  dmesg: 0,
  uptime: 0,
  sysrq: 2,
  trigger: 2,
  'debug-keys': 1,
  'network-attach': 1,
  'network-list': 1,
  'network-detach': 2,
  'block-attach': 2,
  'block-list': 1,
  'block-detach': 2,
  top: 0,
  'pci-list': 1,
  'pci-assignable-list': 0,
  'usb-list': 1,
  'vtpm-list': 1,
  'vkb-list': 1,
  'vdispl-list': 1,
  'vsnd-list': 1,
  'channel-list': 1,
  claims: 0,
  // main_getenforce() calls no getopt: it reads no options and wants no operand.
  getenforce: 0,
  'cpupool-list': 0,
};
