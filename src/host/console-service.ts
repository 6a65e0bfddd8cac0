import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleRingBackend, GNTMAP, GNTST, GNTTAB, RingEndpoint } from '../abi/index.js';
import { XenemuError } from '../common/errors.js';
import { gntstName } from '../hypervisor/gnttab.js';
import type { Kernel } from '../kernel/kernel.js';
import { ConsoleLog, DEFAULT_CONSOLE_LOG_LIMITS, type ConsoleLogLimits } from './console-log.js';

/** The guest's console page as the backend has it mapped, and how to give it back. */
interface RingMapping {
  page: Uint8Array;
  /** How it was mapped: the reserved grant, or (a privileged backend's fallback) by frame number. */
  how: 'grant' | 'foreign';
  unmap(): void;
}

interface Attached {
  endpoint: RingEndpoint;
  localPort: number;
  ring: RingMapping;
  /** null when the log file cannot be written: the console still runs, its tail kept. */
  log: ConsoleLog | null;
  logPath: string;
  /** attach made the log file (it opened it, and no earlier domain of this name left one). */
  newLog: boolean;
  /** The last lines, for `xenemu console --tail` style readers. */
  tail: string[];
  partial: string;
  /** The attached `xenemu console`, if one is (one at a time, as xenconsole's lock allows). */
  client: ConsoleClient | null;
  /** The client's socket is full: output waits in `pending` until it drains. */
  clientBehind: boolean;
  /** Output no client has taken yet (none attached, or it is behind), oldest first. */
  pending: Buffer[];
  pendingBytes: number;
}

/** Someone at the console: `xenemu console` through the control socket. */
export interface ConsoleClient {
  /** The guest's output; false when the client is behind (call clientCaughtUp when it drains). */
  output(chunk: Buffer): boolean;
  /** The console ended with its domain (destroyed, or gone in a reboot). */
  gone(reason: string): void;
}

const TAIL_LINES = 200;

/**
 * Output kept for the next client while none reads it: the newest 64 KiB, the oldest
 * dropped first. xenconsoled likewise buffers what no pty reader took, so `xl console`
 * right after `xl create` shows the boot log.
 */
export const CONSOLE_PENDING_BYTES = 64 * 1024;

/** Keystrokes waiting for room in the guest's in[] ring; more is dropped, as a full tty drops input. */
const INPUT_BACKLOG_BYTES = 64 * 1024;

/**
 * The console backend, xenconsoled's job, in the domain it runs in (dom0 here): map each
 * guest's console page through the grant in the guest's reserved entry
 * GNTTAB_RESERVED_CONSOLE (or, as xenconsoled falls back to xenforeignmemory_map, by
 * its frame number, which only a domain privileged over the guest may), bind its
 * console event channel (an interdomain channel), and copy what the guest writes to
 * out[] into <dir>/guest-<name>.log (xenconsoled's log name). As xenconsoled does when
 * it cannot open a log, a file error is logged and the console runs on without its
 * file: nothing a guest or its name does here can stop the daemon.
 */
export class ConsoleService {
  private readonly consoles = new Map<number, Attached>();

  constructor(
    /** The kernel of the domain xenconsoled runs in: its hypercalls and interrupts are the service's. */
    private readonly home: () => Kernel,
    private readonly dir: string,
    private readonly log: (line: string) => void,
    private readonly logLimits: ConsoleLogLimits = DEFAULT_CONSOLE_LOG_LIMITS,
  ) {}

  /** The domain the console backend runs in: guests grant their console page to it. */
  get domid(): number {
    return this.home().domid;
  }

  logPath(name: string): string {
    return join(this.dir, `guest-${name}.log`);
  }

  /**
   * The guest's log file, or null (said in the daemon's log) when it cannot be had.
   * Opened synchronously, so that a create that fails later can remove the file it
   * made (an open still pending could create it after the removal).
   */
  private openLog(domid: number, name: string): ConsoleLog | null {
    const fail = (why: string): null => {
      this.log(`console: domain ${domid}: no log file ${JSON.stringify(this.logPath(name))}: ${why}`);
      return null;
    };
    // The name must stay one file name in this directory (domain names are checked on
    // the way in; this holds for whatever a store from an older version brings back).
    if (name.includes('/') || name.includes('\0')) return fail('the domain name is not a file name');
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      return new ConsoleLog(this.logPath(name), this.logLimits, (why) => {
        this.log(`console: domain ${domid}: log file ${JSON.stringify(this.logPath(name))}: ${why}; the console runs on without it`);
        const entry = this.consoles.get(domid);
        if (entry !== undefined) entry.log = null;
      });
    } catch (err) {
      return fail((err as Error).message);
    }
  }

  /**
   * xenconsoled's domain_create_ring: the reserved grant first; failing that, the frame
   * number from ~/console/ring-ref, mapped as a foreign frame.
   */
  private mapRing(home: Kernel, domid: number, gfn: number): RingMapping {
    const [g] = home.hc.gnttabMapGrantRef([{ dom: domid, ref: GNTTAB.RESERVED_CONSOLE, flags: GNTMAP.host_map }]);
    if (g!.status === GNTST.okay) return { page: g!.page!, how: 'grant', unmap: () => void home.hc.gnttabUnmapGrantRef([g!.handle]) };
    try {
      const m = home.hc.mapForeignFrames(domid, [gfn]);
      return { page: m.pages[0]!, how: 'foreign', unmap: () => home.hc.unmapForeignFrames(m.handle) };
    } catch (err) {
      throw new Error(`cannot map domain ${domid}'s console ring: grant ${GNTTAB.RESERVED_CONSOLE}: ${gntstName(g!.status)}; frame ${gfn}: ${(err as Error).message}`);
    }
  }

  attach(domid: number, name: string, gfn: number, port: number): void {
    const home = this.home();
    const mapping = this.mapRing(home, domid, gfn);
    let localPort: number;
    try {
      localPort = home.hc.evtchn.bindInterdomain(domid, port);
    } catch (err) {
      mapping.unmap();
      throw err;
    }
    if (mapping.how === 'foreign') this.log(`console: domain ${domid}: no console grant for domain ${home.domid}; mapped frame ${gfn} instead`);
    const ring = new ConsoleRingBackend(mapping.page);
    const logPath = this.logPath(name);
    const existed = existsSync(logPath);
    const log = this.openLog(domid, name);
    const entry: Attached = {
      endpoint: null as unknown as RingEndpoint,
      localPort,
      ring: mapping,
      log,
      logPath,
      newLog: log !== null && !existed,
      tail: [],
      partial: '',
      client: null,
      clientBehind: false,
      pending: [],
      pendingBytes: 0,
    };
    entry.endpoint = new RingEndpoint(
      { write: (b) => ring.write(b), read: () => ring.read() },
      () => home.hc.evtchn.send(localPort),
      (chunk) => this.output(entry, chunk),
    );
    this.consoles.set(domid, entry);
    home.intr.bind(localPort, 0, () => entry.endpoint.onEvent());
    home.hc.evtchn.unmask(localPort);
  }

  private output(entry: Attached, chunk: Buffer): void {
    entry.log?.write(chunk);
    if (entry.client !== null && !entry.clientBehind) entry.clientBehind = !entry.client.output(chunk);
    else keep(entry, chunk);
    const text = entry.partial + chunk.toString('utf8');
    const lines = text.split(/\r?\n/);
    entry.partial = lines.pop()!;
    entry.tail.push(...lines);
    if (entry.tail.length > TAIL_LINES) entry.tail.splice(0, entry.tail.length - TAIL_LINES);
  }

  /** What the guest printed last (complete lines). */
  tail(domid: number): string[] {
    return this.consoles.get(domid)?.tail ?? [];
  }

  private entry(domid: number): Attached {
    const entry = this.consoles.get(domid);
    if (entry === undefined) throw new XenemuError('ESRCH', `domain ${domid} has no console (no such domain, or it has none)`);
    return entry;
  }

  /**
   * Attach `client` to the domain's console: it gets the output no one took yet, then
   * everything as it comes. One client at a time (EBUSY), as xenconsole's lock file
   * allows; returns what detaches it.
   */
  attachClient(domid: number, client: ConsoleClient): () => void {
    const entry = this.entry(domid);
    if (entry.client !== null) throw new XenemuError('EBUSY', `domain ${domid}'s console is already attached to another xenemu console`);
    entry.client = client;
    entry.clientBehind = false;
    this.flushPending(entry);
    return () => {
      if (entry.client === client) {
        entry.client = null;
        entry.clientBehind = false;
      }
    };
  }

  /** The client drained what it was behind with: send what waited. */
  clientCaughtUp(domid: number, client: ConsoleClient): void {
    const entry = this.consoles.get(domid);
    if (entry?.client !== client) return;
    entry.clientBehind = false;
    this.flushPending(entry);
  }

  private flushPending(entry: Attached): void {
    while (entry.client !== null && !entry.clientBehind && entry.pending.length > 0) {
      const chunk = entry.pending.shift()!;
      entry.pendingBytes -= chunk.length;
      entry.clientBehind = !entry.client.output(chunk);
    }
  }

  /** Keystrokes for the guest (its in[] ring); returns how many were taken. */
  input(domid: number, bytes: Uint8Array): number {
    const entry = this.entry(domid);
    const room = Math.max(0, INPUT_BACKLOG_BYTES - entry.endpoint.backlog);
    const taken = bytes.subarray(0, room);
    if (taken.length > 0) entry.endpoint.send(Uint8Array.from(taken));
    return taken.length;
  }

  /** Stop serving a console; with discardNewConsoleLog, remove a log file attach made. */
  detach(domid: number, options: { discardNewConsoleLog?: boolean } = {}): void {
    const entry = this.consoles.get(domid);
    if (entry === undefined) return;
    this.consoles.delete(domid);
    entry.endpoint.close();
    entry.log?.close();
    entry.client?.gone('the domain is gone');
    entry.client = null;
    if (options.discardNewConsoleLog && entry.newLog) rmSync(entry.logPath, { force: true });
    const home = this.home();
    home.intr.unbind(entry.localPort);
    try {
      home.hc.evtchn.close(entry.localPort);
    } catch {
      // the domain's end went with it
    }
    entry.ring.unmap();
  }

  close(): Promise<void> {
    for (const e of this.consoles.values()) {
      e.endpoint.close();
      e.log?.close();
      e.client?.gone('the xenemu daemon is stopping');
    }
    this.consoles.clear();
    return Promise.resolve();
  }
}

/** Hold output for a later client, the newest CONSOLE_PENDING_BYTES of it. */
function keep(entry: Attached, chunk: Buffer): void {
  entry.pending.push(chunk);
  entry.pendingBytes += chunk.length;
  while (entry.pendingBytes > CONSOLE_PENDING_BYTES && entry.pending.length > 0) {
    const over = entry.pendingBytes - CONSOLE_PENDING_BYTES;
    const head = entry.pending[0]!;
    if (head.length <= over) {
      entry.pending.shift();
      entry.pendingBytes -= head.length;
    } else {
      entry.pending[0] = head.subarray(over);
      entry.pendingBytes -= over;
    }
  }
}
