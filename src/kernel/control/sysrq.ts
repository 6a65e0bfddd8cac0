/**
 * The magic SysRq keys as a Linux guest handles them (drivers/tty/sysrq.c), reached
 * through ~/control/sysrq (drivers/xen/manage.c's sysrq_handler calls handle_sysrq with
 * the key the toolstack wrote, `xl sysrq`). The guest runs with sysrq fully enabled
 * (kernel.sysrq = 1), so every operation runs. Each prints "sysrq: " and its
 * action_msg, then acts; what has no effect in an emulated guest (signals to
 * processes, filesystems) only says so in the log, as Linux's own messages do.
 * An unknown key prints the help line.
 */

/** What the kernel offers the sysrq operations. */
export interface SysrqKernel {
  print(message: string): void;
  /** panic(): the guest crashes (SCHEDOP_shutdown with SHUTDOWN_crash on Xen). */
  panic(message: string): void;
  /** emergency_restart(): reboot at once, no device shutdown (Xen: SHUTDOWN_reboot). */
  emergencyRestart(): void;
  /** kernel_power_off(): an orderly power off. */
  powerOff(): void;
  /** Pages the kernel owns now, for show_mem(). */
  totalPages(): number;
  onlineCpus(): number[];
}

interface SysrqOp {
  help: string;
  action: string;
  run?: (k: SysrqKernel, key: string) => void;
}

const LOGLEVEL: SysrqOp = { help: 'loglevel(0-9)', action: 'Changing Loglevel', run: (k, key) => k.print(`sysrq: Loglevel set to ${key}`) };

/** sysrq_key_table of an x86-64 Linux with CONFIG_VT, CONFIG_BLOCK and CONFIG_SMP, and kernel/power/poweroff.c's 'o'. */
const OPS: Readonly<Record<string, SysrqOp>> = {
  ...Object.fromEntries([...'0123456789'].map((d) => [d, LOGLEVEL])),
  b: { help: 'reboot(b)', action: 'Resetting', run: (k) => k.emergencyRestart() },
  c: { help: 'crash(c)', action: 'Trigger a crash', run: (k) => k.panic('sysrq triggered crash') },
  e: { help: 'terminate-all-tasks(e)', action: 'Terminate All Tasks' },
  f: { help: 'memory-full-oom-kill(f)', action: 'Manual OOM execution', run: (k) => k.print('sysrq: OOM request ignored. No task eligible') },
  i: { help: 'kill-all-tasks(i)', action: 'Kill All Tasks' },
  j: { help: 'thaw-filesystems(j)', action: 'Emergency Thaw of all frozen filesystems', run: (k) => k.print('Emergency Thaw complete') },
  k: { help: 'sak(k)', action: 'SAK' },
  l: {
    help: 'show-backtrace-all-active-cpus(l)',
    action: 'Show backtrace of all active CPUs',
    // Every vCPU of the emulated guest is idle between interrupts: nothing to show.
    run: (k) => k.print(`NMI backtrace for cpus ${k.onlineCpus().join(',')}: all idle`),
  },
  m: {
    help: 'show-memory-usage(m)',
    action: 'Show Memory',
    run: (k) => {
      k.print('Mem-Info:');
      k.print(`${k.totalPages()} pages RAM`);
    },
  },
  n: { help: 'nice-all-RT-tasks(n)', action: 'Nice All RT Tasks' },
  o: { help: 'poweroff(o)', action: 'Power Off', run: (k) => k.powerOff() },
  p: { help: 'show-registers(p)', action: 'Show Regs' },
  q: { help: 'show-all-timers(q)', action: 'Show clockevent devices & pending hrtimers (no others)' },
  r: { help: 'unraw(r)', action: 'Keyboard mode set to system default' },
  s: { help: 'sync(s)', action: 'Emergency Sync', run: (k) => k.print('Emergency Sync complete') },
  t: { help: 'show-task-states(t)', action: 'Show State' },
  u: { help: 'unmount(u)', action: 'Emergency Remount R/O', run: (k) => k.print('Emergency Remount complete') },
  w: { help: 'show-blocked-tasks(w)', action: 'Show Blocked State' },
  z: { help: 'dump-ftrace-buffer(z)', action: 'Dump ftrace buffer', run: (k) => {
      k.print('Dumping ftrace buffer:');
      k.print('   (ftrace buffer empty)');
    },
  },
};

/** __handle_sysrq()'s help: each operation's help_msg once, in table order. */
const HELP = `sysrq: HELP : ${[...new Set(Object.values(OPS).map((op) => op.help))].join(' ')}`;

/** __handle_sysrq(key, check_mask): the header line, then the operation (or the help). */
export function handleSysrq(key: string, k: SysrqKernel): void {
  const op = OPS[key];
  if (op === undefined) {
    k.print(HELP);
    return;
  }
  k.print(`sysrq: ${op.action}`);
  op.run?.(k, key);
}
