import { connect, type Socket } from 'node:net';
import { Domctl } from '../hypervisor/domctl.js';
import { MIGRATE_MESSAGE_EVENT, type MigrateMessageEvent, type MigrateRpc } from '../protocol/migrate-rpc.js';
import { loadDomainConfig } from '../toolstack/config/index.js';
import { xlParsedDomainConfig } from '../toolstack/libxl/from-config.js';
import { ByteSource } from '../toolstack/migrate/byte-source.js';
import { MigrationError } from '../toolstack/migrate/handshake.js';
import { migrateReceive } from '../toolstack/migrate/receiver.js';
import { migrateDomain, type PeerChannel } from '../toolstack/migrate/sender.js';
import { ToolstackError } from '../toolstack/errors.js';
import { rpcMethods, type RpcContext, type RpcMethod } from './control-server.js';
import type { Machine } from './machine.js';

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
      const config = p.config !== undefined ? loadDomainConfig(p.config, [], { regularFileOnly: true }).config : record.config;
      const configJson = JSON.stringify(xlParsedDomainConfig(config, { hostCpus: hv.host.pcpus, uuid: () => d.uuid }));
      const ch = await openChannel(p.channel);
      try {
        return await migrateDomain(
          {
            domctl,
            suspend: async (domid) => {
              const image = await toolstack.suspendDomain(domid);
              // -C: the target builds the domain from this config instead of the one it was created from.
              return p.config === undefined ? image : { ...image, record: { ...image.record, config } };
            },
            resume: (domid) => toolstack.resumeDomain(domid),
            rename: (domid, name) => toolstack.rename(domid, name),
            destroy: (domid) => toolstack.destroySaved(domid),
          },
          ch,
          { domid: d.domid, name: d.name, type: d.type, maxPages: d.memory.maxPages, configJson, rune: p.rune },
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
          {
            restore: (image, _configJson, name) => toolstack.restoreDomain(image, { paused: true, name }),
            rename: (domid, name) => toolstack.rename(domid, name),
            unpause: (domid) => toolstack.unpause(domid),
            destroy: (domid) => toolstack.destroy(domid),
          },
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

/** The CLI's channel socket as the migration's byte channel. */
async function openChannel(path: string): Promise<PeerChannel & { reader: ByteSource }> {
  const sock = await new Promise<Socket>((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', (err) => reject(new MigrationError(`cannot reach the migration channel ${path}: ${err.message}`)));
  });
  let broken: Error | null = null;
  // A peer that goes away is an answer (a failed write or read), never an unhandled error.
  sock.on('error', (err) => (broken ??= err));
  sock.on('close', () => (broken ??= new Error('the migration channel closed')));
  return {
    reader: new ByteSource(sock),
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        if (broken !== null || !sock.writable) {
          reject(new MigrationError(`writing the migration stream: ${broken?.message ?? 'the channel is closed'}`));
          return;
        }
        if (sock.write(chunk)) {
          resolve();
          return;
        }
        const done = (err?: Error): void => {
          sock.off('drain', onDrain);
          sock.off('close', onClose);
          if (err === undefined) resolve();
          else reject(new MigrationError(`writing the migration stream: ${err.message}`));
        };
        const onDrain = (): void => done();
        const onClose = (): void => done(broken ?? new Error('the migration channel closed'));
        sock.once('drain', onDrain);
        sock.once('close', onClose);
      }),
    end: () => {
      if (!sock.destroyed) sock.end();
    },
  };
}
