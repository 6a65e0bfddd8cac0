import type { Server, Socket } from 'node:net';
import { XenbusDev } from '../kernel/xenstore/xenbus-dev.js';
import type { ExecRpc } from '../protocol/exec-rpc.js';
import { domainXenbusSocket } from '../state/state-dir.js';
import { bootedKernel } from './booted-kernel.js';
import { rpcMethods, type RpcMethod } from './control-server.js';
import type { DurabilityBarrier } from './durability.js';
import type { Machine } from './machine.js';
import { listenPrivate } from './private-socket.js';

/** Requests of one client read ahead of their answers before its socket stops being read. */
const MAX_QUEUED_REQUESTS = 64;
/** Answers and events a client leaves unread before its socket stops being read. */
const MAX_UNREAD_BYTES = 1024 * 1024;
/**
 * Unread bytes past which a client is hung up: not reading stops its requests, but
 * not the watch events others cause, which the daemon would otherwise hold without end.
 */
const MAX_HELD_BYTES = 4 * MAX_UNREAD_BYTES;

interface Served {
  server: Server;
  sockets: Set<Socket>;
  path: string;
}

/**
 * The host's door to each domain kernel's xenbus device: a unix socket per domain in
 * the state dir (0600 in a 0700 directory, so only the host's user reaches it), opened
 * on first use. Each connection is one open of the device, so whatever speaks xs_wire
 * on it (libxenstore's XENSTORED_PATH, pyxs, our own client) is a program running in
 * that domain. The socket goes when the domain shuts down or is destroyed, which hangs
 * up its clients: that is how `xenemu exec` learns that its domain went away.
 */
export class XenbusSockets {
  private readonly served = new Map<number, Promise<Served>>();

  constructor(
    private readonly machine: Machine,
    private readonly home: string,
    /** Answers wait for the journal, as on xenstored's own sockets. */
    private readonly barrier: DurabilityBarrier,
    private readonly log: (line: string) => void,
  ) {
    machine.hv.onDomainEvent((e) => {
      if (e.kind === 'shutdown' || e.kind === 'destroyed') this.stop(e.domid);
    });
  }

  methods(): Record<string, RpcMethod> {
    return rpcMethods<ExecRpc>({
      'domain.xenbusSocket': async (p) => {
        const d = this.machine.toolstack.find(p.ref);
        bootedKernel(this.machine, d);
        return { domid: d.domid, name: d.name, socket: await this.serve(d.domid) };
      },
    });
  }

  /** The domain's socket, listening from its first use on (concurrent first uses share one). */
  private serve(domid: number): Promise<string> {
    let s = this.served.get(domid);
    if (s === undefined) {
      s = this.listen(domid);
      this.served.set(domid, s);
      s.catch(() => this.served.delete(domid));
    }
    return s.then((x) => x.path);
  }

  private async listen(domid: number): Promise<Served> {
    const path = domainXenbusSocket(this.home, domid);
    const machine = this.machine;
    // The kernel's connection as it is at each request: a restored kernel has a new one.
    const dev = new XenbusDev(() => machine.kernel(domid)?.xs ?? null);
    const sockets = new Set<Socket>();
    const server = await listenPrivate(path, (socket) => this.accept(dev, sockets, socket, domid));
    return { server, sockets, path };
  }

  private accept(dev: XenbusDev, sockets: Set<Socket>, socket: Socket, domid: number): void {
    sockets.add(socket);
    const file = dev.open({
      // A reply may acknowledge a change the journal has not taken yet: it goes out once
      // the journal has it (in order: the barrier releases its waiters in turn).
      deliver: (frame) => this.barrier.whenWritable(() => {
        if (socket.destroyed) return;
        socket.write(frame);
        if (socket.writableLength > MAX_HELD_BYTES) {
          this.log(`domain ${domid}: xenbus device client closed: ${socket.writableLength} bytes of answers and watch events unread (at most ${MAX_HELD_BYTES})`);
          socket.destroy();
        }
      }),
      hangUp: (reason) => {
        this.log(`domain ${domid}: xenbus device client closed: ${reason}`);
        socket.destroy();
      },
    });
    // A client that writes requests faster than they are answered, or does not read
    // its answers, is not read further until it catches up: the daemon holds only
    // what is bounded here.
    const resume = (): void => {
      if (file.queued < MAX_QUEUED_REQUESTS && socket.writableLength < MAX_UNREAD_BYTES && !socket.destroyed) socket.resume();
    };
    file.onDrained(resume);
    socket.on('drain', resume);
    socket.on('data', (chunk: Buffer) => {
      file.write(chunk);
      if (file.queued >= MAX_QUEUED_REQUESTS || socket.writableLength >= MAX_UNREAD_BYTES) socket.pause();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      file.close();
    });
  }

  /** The domain went away: its socket with it, and every client on it hung up. */
  private stop(domid: number): void {
    const served = this.served.get(domid);
    if (served === undefined) return;
    this.served.delete(domid);
    void served.then(
      (s) => {
        for (const socket of s.sockets) socket.destroy();
        // Closing a unix socket server removes its file.
        s.server.close();
      },
      () => {},
    );
  }

  close(): void {
    for (const domid of [...this.served.keys()]) this.stop(domid);
  }
}
