import type { XsConnection } from './connection.js';
import { xsFail } from './errors.js';
import { QUOTA_NAMES, quotaKey } from './quota.js';
import { walkTree } from './tree.js';
import type { XenStored } from './xenstored.js';

/**
 * XS_CONTROL commands. The set is implementation specific (xenstore.txt); these are
 * C xenstored's everyday ones. Like oxenstored, an unknown command is answered with
 * OK rather than an error, so `xenstore-control` scripts written for either daemon
 * keep working. Returns the reply text, or null for a plain OK.
 */
interface ControlCommand {
  readonly args: string;
  readonly help: string;
  run(xs: XenStored, conn: XsConnection, args: string[]): string | null;
}

const commands: Record<string, ControlCommand> = {
  check: {
    args: '',
    help: 'check the store for internal consistency',
    run(xs) {
      if (!xs.db.verifyCounts()) xsFail('EIO', 'node ownership counts are inconsistent');
      return null;
    },
  },
  help: {
    args: '',
    help: 'list the supported commands',
    run() {
      return Object.entries(commands)
        .map(([name, c]) => `${name.padEnd(10)} ${c.args.padEnd(28)} ${c.help}\n`)
        .join('');
    },
  },
  log: {
    args: 'on|off',
    help: 'switch request logging',
    run() {
      return null;
    },
  },
  memreport: {
    args: '',
    help: 'report store, connection and memory statistics',
    run(xs) {
      return memoryReport(xs);
    },
  },
  print: {
    args: '<string>',
    help: 'write a line to the daemon log',
    run(xs, _conn, args) {
      xs.log(args.join(' '));
      return null;
    },
  },
  quota: {
    args: '[set <name> <val>|<domid>]',
    help: 'show or set quotas, or show a domain\'s usage',
    run(xs, _conn, args) {
      if (args.length === 0) {
        return Object.entries(QUOTA_NAMES)
          .map(([name, key]) => `${name.padEnd(18)}: ${xs.quota.global[key]}\n`)
          .join('');
      }
      if (args[0] === 'set') {
        const [, name, value] = args;
        if (name === undefined || value === undefined || !/^[0-9]+$/.test(value)) xsFail('EINVAL', 'usage: quota set <name> <val>');
        xs.quota.set(null, quotaKey(name), Number(value));
        return null;
      }
      if (!/^[0-9]+$/.test(args[0]!)) return null;
      // oxenstored's format, which xenstore-control prints as it is.
      const domid = Number(args[0]);
      const owned = xs.db.counts.get(domid);
      return owned === 0 ? `dom${domid} quota: not set` : `dom${domid} quota: ${owned}/${xs.quota.limit(domid, 'nodes')}`;
    },
  },
  watches: {
    args: '',
    help: 'list every watch',
    run(xs) {
      let out = '';
      for (const conn of xs.connections) {
        for (const w of conn.watches.values()) out += `watch ${conn.label}: ${w.path} ${w.token}\n`;
      }
      return out;
    },
  },
};

export function controlCommand(xs: XenStored, conn: XsConnection, args: string[]): string | null {
  const [name = '', ...rest] = args;
  // oxenstored's do_debug: a domU's request is answered OK and does nothing (C
  // xenstored says EACCES; oxenstored is the peer we answer as).
  if (!conn.privileged) return null;
  const command = commands[name];
  if (command === undefined) return null;
  return command.run(xs, conn, rest);
}

function memoryReport(xs: XenStored): string {
  let nodes = 0;
  let bytes = 0;
  walkTree(xs.db.root, '/', (path, node) => {
    nodes++;
    bytes += path.length + node.value.length;
  });
  let watches = 0;
  let transactions = 0;
  for (const conn of xs.connections) {
    watches += conn.watches.size;
    transactions += conn.transactions.size;
  }
  const lines = [
    `nodes: ${nodes}`,
    `node bytes: ${bytes}`,
    `connections: ${xs.connections.size}`,
    `introduced domains: ${xs.domains.size}`,
    `watches: ${watches}`,
    `watch index entries: ${xs.watches.entries}`,
    `transactions open: ${transactions}`,
    `transactions committed: ${xs.commits}`,
    `transactions conflicted: ${xs.conflicts}`,
    ...xs.memoryReport(),
  ];
  return lines.map((l) => `${l}\n`).join('');
}
