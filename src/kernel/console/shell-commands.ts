/**
 * The shell's own commands (help, uname, uptime, dmesg), printing what coreutils',
 * procps' and util-linux's would on a Linux guest, with the emulated kernel's names.
 * Drivers add theirs through Shell.register (shell.ts).
 */
import type { Shell, ShellCommand, ShellIO } from './shell.js';

/** What the commands read of the kernel they run in. */
export interface ShellHost {
  /** The host name: the domain's name. */
  nodename(): string;
  /** PV, PVH or HVM. */
  type: string;
  /** Xen's version as XENVER_version gives it (the kernel release names the Xen it runs on). */
  xenVersion(): { major: number; minor: number };
  /** Nanoseconds since the kernel booted. */
  uptimeNs(): number;
  /** The wall clock's time of day, for uptime's first column. */
  now(): Date;
  /** The kernel log (dmesg), and its clearing (dmesg -c). */
  logLines(): readonly string[];
  clearLog(): void;
}

/** struct utsname of the emulated kernel. */
export function utsname(host: ShellHost): { sysname: string; nodename: string; release: string; version: string; machine: string; os: string } {
  const { major, minor } = host.xenVersion();
  return {
    sysname: 'xenemu',
    nodename: host.nodename(),
    release: `1.0.0-xen${major}.${minor}`,
    version: `#1 SMP ${host.type.toUpperCase()}`,
    machine: 'x86_64',
    os: 'xenemu',
  };
}

/** uname's fields in the order coreutils prints them; -p and -i are "unknown" here, which -a leaves out. */
const UNAME_ORDER = ['s', 'n', 'r', 'v', 'm', 'p', 'i', 'o'] as const;

const UNAME_LONG: Readonly<Record<string, string>> = {
  '--all': 'a',
  '--kernel-name': 's',
  '--nodename': 'n',
  '--kernel-release': 'r',
  '--kernel-version': 'v',
  '--machine': 'm',
  '--operating-system': 'o',
  '--processor': 'p',
  '--hardware-platform': 'i',
};

/** coreutils' uname: no option is -s; -a all but the unknown -p and -i. */
export function uname(argv: readonly string[], host: ShellHost, io: ShellIO): number {
  const chosen = new Set<string>();
  for (const arg of argv.slice(1)) {
    const letters = arg.startsWith('--') ? UNAME_LONG[arg] : arg.startsWith('-') && arg.length > 1 ? arg.slice(1) : undefined;
    if (letters === undefined) {
      io.println(arg.startsWith('--') ? `uname: unrecognized option '${arg}'` : `uname: extra operand '${arg}'`);
      io.println("Try 'uname --help' for more information.");
      return 1;
    }
    for (const l of letters) {
      if (!'asnrvmopi'.includes(l)) {
        io.println(`uname: invalid option -- '${l}'`);
        io.println("Try 'uname --help' for more information.");
        return 1;
      }
      chosen.add(l);
    }
  }
  if (chosen.size === 0) chosen.add('s');
  const u = utsname(host);
  const value: Readonly<Record<(typeof UNAME_ORDER)[number], string>> = { s: u.sysname, n: u.nodename, r: u.release, v: u.version, m: u.machine, p: 'unknown', i: 'unknown', o: u.os };
  const all = chosen.has('a');
  const words = UNAME_ORDER.filter((l) => (all ? l !== 'p' && l !== 'i' : chosen.has(l))).map((l) => value[l]);
  io.println(words.join(' '));
  return 0;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** procps' sprint_uptime(): " 12:00:00 up 5 min,  1 user,  load average: 0.00, 0.00, 0.00". */
export function uptimeLine(host: ShellHost): string {
  const t = host.now();
  const secs = Math.floor(host.uptimeNs() / 1e9);
  let s = ` ${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())} up `;
  const days = Math.floor(secs / 86400);
  if (days > 0) s += `${days} day${days !== 1 ? 's' : ''}, `;
  const minutes = Math.floor(secs / 60) % 60;
  const hours = Math.floor(secs / 3600) % 24;
  s += hours > 0 ? `${String(hours).padStart(2)}:${pad2(minutes)}, ` : `${minutes} min, `;
  // One user: whoever is at this console. The emulated CPUs do no work that loads them.
  s += ' 1 user,  load average: 0.00, 0.00, 0.00';
  return s;
}

/** The built-in commands, on a shell of a kernel described by `host`. */
export function registerBuiltins(shell: Shell, host: ShellHost): void {
  const builtins: ShellCommand[] = [
    {
      name: 'help',
      summary: 'list the commands',
      run: (_argv, io) => {
        const cmds = shell.list();
        const width = Math.max(...cmds.map((c) => c.name.length));
        for (const c of cmds) io.println(`${c.name.padEnd(width)}  ${c.summary}`);
      },
    },
    { name: 'uname', summary: 'print system information (-a: all of it)', run: (argv, io) => uname(argv, host, io) },
    {
      name: 'uptime',
      summary: 'how long the system has been running',
      run: (argv, io) => {
        if (argv.length > 1) {
          io.println(`uptime: invalid option -- '${argv[1]!.replace(/^-+/, '').slice(0, 1)}'`);
          return 1;
        }
        io.println(uptimeLine(host));
        return 0;
      },
    },
    {
      name: 'dmesg',
      summary: 'print the kernel log (-c: and clear it)',
      run: (argv, io) => {
        const clear = argv[1] === '-c' || argv[1] === '--read-clear';
        if (argv.length > 1 && !clear) {
          io.println(`dmesg: unrecognized option '${argv[1]}'`);
          return 1;
        }
        for (const line of host.logLines()) io.println(line);
        if (clear) host.clearLog();
        return 0;
      },
    },
  ];
  for (const c of builtins) shell.register(c);
}
