import { connect, type Socket } from 'node:net';
import { Domctl } from '../hypervisor/domctl.js';
import { MIGRATE_MESSAGE_EVENT, type MigrateMessageEvent, type MigrateRpc } from '../protocol/migrate-rpc.js';
import { loadDomainConfig } from '../toolstack/config/index.js';
import type { ByteSource } from '../toolstack/migrate/byte-source.js';
import { streamChannel } from '../toolstack/migrate/channel.js';
import { toolstackSource, toolstackTarget } from '../toolstack/migrate/ends.js';
import { MigrationError } from '../toolstack/migrate/handshake.js';
import { migrateReceive } from '../toolstack/migrate/receiver.js';
import { migrateDomain, type PeerChannel } from '../toolstack/migrate/sender.js';
import { ToolstackError } from '../toolstack/errors.js';
import { rpcMethods, type RpcContext, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';
import { storedConfigJson } from './saverestore-service.js';

/**
 * The daemon's side of `xenemu migrate` and `migrate-receive`: it connects to the
 * CLI's channel socket (joined to the ssh command's pipes) and runs xl's sender or
 * receiver there, with the toolstack doing the suspend, resume, restore, rename and
 * destroy, and the hypervisor's log-dirty mode feeding the pre-copy rounds.
 */
export function migrateMethods(machine: Machine): Record<string, RpcMethod> {
  const { toolstack, hv } = machine;
  const domctl = new Domctl(hv);
  const sayTo = (ctx: RpcContext) => (line: string) => {
    ctx.send(MIGRATE_MESSAGE_EVENT, { line } satisfies MigrateMessageEvent);
  };
  return rpcMethods<MigrateRpc>({
    'domain.migrateSend': async (p, ctx) => {
      const d = toolstack.find(p.ref);
      const record = toolstack.record(d.domid);
      if (d.domid === 0 || record === undefined) throw new ToolstackError('EINVAL', 'Domain-0 cannot be migrated');
      const override = p.config !== undefined ? loadDomainConfig(p.config, [], { regularFileOnly: true }).config : undefined;
      const configJson = storedConfigJson(machine, d, override, false);
      const ch = await openChannel(p.channel);
      try {
        return await migrateDomain(
          toolstackSource(toolstack, domctl, override),
          ch,
          { domid: d.domid, name: d.name, type: d.type, maxPages: d.memory.maxPages, configJson, rune: p.rune, verify: p.debug },
          sayTo(ctx),
        );
      } finally {
        ch.end();
      }
    },
    'domain.migrateReceive': async (p, ctx) => {
      const ch = await openChannel(p.channel);
      try {
        return await migrateReceive(
          toolstackTarget(toolstack),
          ch,
          { paused: p.paused },
          sayTo(ctx),
        );
      } finally {
        ch.end();
      }
    },
  });
}

/**
 * The CLI's channel socket as the migration's byte channel. Its end closes the socket
 * once what was written is out: a migration that stopped reading (a refused or broken
 * stream) leaves the peer's last bytes unread, so the peer's end of file is never
 * read either, and a socket only half closed would stay open for good.
 */
async function openChannel(path: string): Promise<PeerChannel & { reader: ByteSource }> {
  const sock = await new Promise<Socket>((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', (err) => reject(new MigrationError(`cannot reach the migration channel ${path}: ${err.message}`)));
  });
  return { ...streamChannel(sock, sock), end: () => void sock.end(() => sock.destroy()) };
}
