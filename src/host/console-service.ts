import { createWriteStream, existsSync, mkdirSync, openSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { ConsoleRingBackend, GNTMAP, GNTST, GNTTAB, RingEndpoint } from '../abi/index.js';
import { gntstName } from '../hypervisor/gnttab.js';
import type { Kernel } from '../kernel/kernel.js';

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
  log: WriteStream | null;
  logPath: string;
  /** attach made the log file (it opened it, and no earlier domain of this name left one). */
  newLog: boolean;
  /** The last lines, for `xenemu console --tail` style readers. */
  tail: string[];
  partial: string;
}

const TAIL_LINES = 200;

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
  private openLog(domid: number, name: string): WriteStream | null {
    const fail = (why: string): null => {
      this.log(`console: domain ${domid}: no log file ${JSON.stringify(this.logPath(name))}: ${why}`);
      return null;
    };
    // The name must stay one file name in this directory (domain names are checked on
    // the way in; this holds for whatever a store from an older version brings back).
    if (name.includes('/') || name.includes('\0')) return fail('the domain name is not a file name');
    let fd: number;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      fd = openSync(this.logPath(name), 'a', 0o600);
    } catch (err) {
      return fail((err as Error).message);
    }
    const stream = createWriteStream('', { fd });
    stream.on('error', (err) => {
      fail(err.message);
      const entry = this.consoles.get(domid);
      if (entry?.log === stream) entry.log = null;
    });
    return stream;
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

  /** Stop serving a console; with discardNewConsoleLog, remove a log file attach made. */
  detach(domid: number, options: { discardNewConsoleLog?: boolean } = {}): void {
    const entry = this.consoles.get(domid);
    if (entry === undefined) return;
    this.consoles.delete(domid);
    entry.endpoint.close();
    entry.log?.end();
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

  async close(): Promise<void> {
    const ends = [...this.consoles.values()].map((e) => {
      e.endpoint.close();
      return new Promise<void>((resolve) => (e.log === null ? resolve() : e.log.end(resolve)));
    });
    this.consoles.clear();
    await Promise.all(ends);
  }
}
