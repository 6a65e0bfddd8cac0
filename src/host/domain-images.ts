import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Timer } from '../hypervisor/clock.js';
import { Domctl } from '../hypervisor/domctl.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import type { TimerPhase } from '../hypervisor/vtimers.js';
import type { Kernel } from '../kernel/kernel.js';
import type { DomainImage } from '../toolstack/migrate/image.js';
import { NOTHING_DECLARED, pageBoundFor } from '../toolstack/migrate/admission.js';
import { ByteSource } from '../toolstack/migrate/byte-source.js';
import { fileSink } from '../toolstack/migrate/sinks.js';
import { readSaveStream } from '../toolstack/migrate/stream-reader.js';
import { SaveStreamWriter, writeSaveStream } from '../toolstack/migrate/stream-writer.js';
import type { Toolstack } from '../toolstack/toolstack.js';

/** How often a guest is checkpointed when host.yaml says nothing (ms): a kill -9 loses at most this much of it. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5000;

/**
 * A checkpoint the guest did nothing since is skipped (DomainImages.fingerprint), but
 * not for longer than this: the file's age and timer phases, which a skipped round
 * leaves as they were, are then at most this old (uptime after a kill -9).
 */
const UNCHANGED_REWRITE_NS = 60e9;

/**
 * How long a stop waits for a guest to acknowledge and to suspend (each): a guest
 * that does not answer in this time is skipped (it boots again next time) rather than
 * holding the host for libxl's minute.
 */
const HOST_SUSPEND_TIMEOUT_NS = 5e9;

/**
 * The host's own save files, what makes a daemon restart not a reboot: one per guest
 * in <state dir>/images/<domid>.xl, in xl's save-file format (the same codec as
 * `xenemu save`). `host stop` suspends every guest into its file (saveAll); while the
 * host runs, each guest is checkpointed every `intervalMs` (quiesced, paused and
 * captured without the guest or anyone watching it seeing anything: see
 * checkpointAll), so after a kill -9 its file is at most that old; `host start` restores each domain of the toolstack's records from its
 * file (load) instead of booting it again. A file is replaced whole (written aside,
 * then renamed), so a crash while writing leaves the previous one.
 */
export class DomainImages {
  private timer: Timer | null = null;
  private readonly domctl: Domctl;
  /** The checkpoint round under way, if any. */
  private round: Promise<unknown> | null = null;
  private stopped = false;
  /** Why each domain's last checkpoint failed, if it did (so a lasting cause is logged once). */
  private readonly failing = new Map<number, string>();
  /**
   * Domains whose checkpoints are going well and were said to: after the first, a
   * checkpoint is logged only when it fails or is the first to succeed after a failure
   * (a line every interval per guest would grow daemon.log without bound).
   */
  private readonly announced = new Set<number>();
  /** What each domain's file holds, in short (fingerprint()), and when it was written (hypervisor clock, ns). */
  private readonly written = new Map<number, { fingerprint: string; atNs: number }>();

  constructor(
    private readonly dir: string,
    private readonly hv: Hypervisor,
    private readonly toolstack: () => Toolstack,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {
    this.domctl = new Domctl(hv);
  }

  private path(domid: number): string {
    return join(this.dir, `${domid}.xl`);
  }

  /** The image of a domain of the last run, if its file is there, reads and is of that domain (its UUID). */
  async load(domid: number, uuid: string): Promise<DomainImage | null> {
    const path = this.path(domid);
    let image: DomainImage;
    try {
      const fh = await open(path, 'r');
      try {
        // The host's own file, but a file: its pages may take no more than the host has free.
        image = (await readSaveStream(ByteSource.fromFile(fh), { trailing: 'refuse', bound: pageBoundFor(NOTHING_DECLARED, this.hv.freeKiB) })).image;
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log(`domain ${domid}: its saved image ${path} cannot be read (${(err as Error).message}); it boots again`);
      return null;
    }
    if (image.record.uuid !== uuid) {
      this.log(`domain ${domid}: ${path} is of another domain (UUID ${image.record.uuid}, not ${uuid}); it boots again`);
      return null;
    }
    return image;
  }

  /** Forget a domain's file (the domain is gone). */
  remove(domid: number): void {
    this.failing.delete(domid);
    this.written.delete(domid);
    this.announced.delete(domid);
    void rm(this.path(domid), { force: true }).catch(() => {});
  }

  /** Write a domain's file (aside, then renamed over the last one); its size in bytes. */
  private async write(domid: number, image: DomainImage): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const final = this.path(domid);
    const aside = `${final}.new`;
    const fh = await open(aside, 'w', 0o600);
    let size: number;
    try {
      await writeSaveStream(fileSink(fh), image, null);
      await fh.sync();
      size = (await fh.stat()).size;
    } finally {
      await fh.close();
    }
    await rename(aside, final);
    return size;
  }

  /** The guests a checkpoint or a stop can suspend: a kernel that runs, in a domain not shut down. */
  private guests(): Kernel[] {
    return this.toolstack()
      .kernels()
      .filter((k) => k.state === 'running' && this.hv.domains.get(k.domid)?.shutdownReason === null);
  }

  /**
   * Checkpoint every running guest, paused ones included, and write its file: a
   * checkpoint the guest does not see (Toolstack.checkpointImage: no control request,
   * no log line anywhere, the domain paused only while it is captured). One whose
   * image would be what its file holds already (fingerprint) is not written again: a
   * paused or idle guest costs a capture, not a file. One that cannot be checkpointed
   * keeps its last file; why is logged once, not every round. Returns the domains
   * whose file was written.
   */
  async checkpointAll(): Promise<number[]> {
    const ts = this.toolstack();
    const wrote: number[] = [];
    for (const k of this.guests()) {
      const started = performance.now();
      try {
        let fingerprint = '';
        const last = this.written.get(k.domid);
        const image = await ts.checkpointUnlessUnchanged(k.domid, async (im) => {
          fingerprint = await this.fingerprint(k.domid, im);
          return last !== undefined && last.fingerprint === fingerprint && this.clock.now() - last.atNs < UNCHANGED_REWRITE_NS;
        });
        if (image === null) continue;
        this.written.delete(k.domid);
        const bytes = await this.write(k.domid, image);
        this.written.set(k.domid, { fingerprint, atNs: this.clock.now() });
        wrote.push(k.domid);
        const recovered = this.failing.delete(k.domid);
        if (!this.announced.has(k.domid) || recovered) {
          this.log(`domain ${k.domid} '${k.name}' checkpointed${recovered ? ' again' : ''} (${Math.round(bytes / 1024)} KiB, ${Math.round(performance.now() - started)} ms); the next are logged only if one fails`);
          this.announced.add(k.domid);
        }
      } catch (err) {
        const why = (err as Error).message;
        if (this.failing.get(k.domid) !== why) this.log(`domain ${k.domid} '${k.name}': checkpoint failed: ${why}`);
        this.failing.set(k.domid, why);
      }
    }
    return wrote;
  }

  /**
   * An image in short, taken while its domain is paused with its pages in place: the
   * memory's generation (it moves with every write, backing and release the hypervisor
   * learns of), a hash of the frames others hold writable (their writes are not
   * reported), and a hash of every other record the file would hold, but for what
   * moves on with time alone: the domain's age and its timers' phases. Two checkpoints
   * with the same fingerprint would write the same file, bar those: the guest did
   * nothing, nor did anyone to it.
   */
  private async fingerprint(domid: number, image: DomainImage): Promise<string> {
    const d = this.hv.get(domid);
    const hash = createHash('sha256');
    for (const gfn of this.domctl.heldWritable(d).sort((a, b) => a - b)) {
      hash.update(`${gfn}:`);
      const page = d.memory.backedPage(gfn);
      if (page !== null) hash.update(page);
    }
    const w = new SaveStreamWriter((pieces) => {
      for (const p of pieces) hash.update(p);
    });
    await w.begin(image.hypervisor.type, image.hypervisor.memory.maxPages);
    const t = image.hypervisor.timers;
    const still = <T extends { phase: TimerPhase }>(x: T): T => ({ ...x, phase: { ...x.phase, elapsedNs: 0 } });
    const timers = { vcpu: t.vcpu.map(still), lapic: t.lapic.map(still), sources: t.sources.map(still) };
    await w.finish({ ...image, hypervisor: { ...image.hypervisor, ageNs: 0, timers } }, { pages: 'sent' });
    return `${d.memory.generation}:${hash.digest('hex')}`;
  }

  /** Checkpoint every `intervalMs` until stop() (each round starts once the last one ended). */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const next = (): void => {
      this.timer = this.clock.after(intervalMs * 1e6, () => {
        this.timer = null;
        if (this.stopped) return;
        this.round = this.checkpointAll().finally(() => {
          this.round = null;
          if (!this.stopped) next();
        });
      });
    };
    next();
  }

  /**
   * `host stop`: no more checkpoints, then every guest is suspended into its file
   * (a paused one is let run for its suspend, and comes back paused: its record says
   * so). The domains are not destroyed: they end with the process.
   */
  async saveAll(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.round;
    const ts = this.toolstack();
    for (const k of this.guests()) {
      try {
        while (this.hv.get(k.domid).paused) this.domctl.unpauseDomain(k.domid);
        await this.write(k.domid, await ts.suspendDomain(k.domid, { timeoutNs: HOST_SUSPEND_TIMEOUT_NS, pagesInPlace: true }));
        this.log(`domain ${k.domid} '${k.name}' saved to ${this.path(k.domid)}`);
      } catch (err) {
        this.log(`domain ${k.domid} '${k.name}': cannot be saved (${(err as Error).message}); it boots again at the next start`);
        this.remove(k.domid);
      }
    }
  }
}
