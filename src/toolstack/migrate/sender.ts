/**
 * `xl migrate`'s sending side (xl_migrate.c: migrate_domain, with libxl_domain_suspend's
 * live save in the middle), over a byte channel to the receiver (the ssh command's
 * pipes): the banner, the xl header and config, the pre-copy rounds, the suspend and
 * the last round with the final records, then the handshake that hands the domain over.
 * The domain leaves this host only once the target reports it running; any failure
 * before the "go" leaves it running here (resumed if it was suspended), as xl does.
 */

import type { Domctl } from '../../hypervisor/domctl.js';
import { SaveStreamWriter } from './stream-writer.js';
import type { DomainImage } from './image.js';
import { ERROR_FAIL, MIGRATE_PERMISSION_TO_GO, MIGRATE_RECEIVER_BANNER, MIGRATE_RECEIVER_READY, MIGRATE_REPORT, MigrationError, readFixedMessage, type ByteReader } from './handshake.js';
import { PrecopySender, type PrecopyPolicy, type PrecopyRound } from './precopy.js';

/** The byte channel to the receiver: what it says, and a way to write to it (resolving once taken, rejecting once broken). */
export interface PeerChannel {
  reader: ByteReader;
  /**
   * Write bytes, or a record's pieces in order. Pieces may be views of the guest's
   * pages: a page the guest changes before it went out is dirty, and goes again.
   */
  write(data: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /** Close our side (xl's close(send_fd)): the receiver sees the end of the stream. */
  end(): void;
}

/** What the sender does to the domain on this host (the toolstack's suspend, resume, rename, destroy). */
export interface MigrationSource {
  readonly domctl: Domctl;
  /** The guest suspends (control/shutdown = "suspend") and its state is taken. */
  suspend(domid: number): Promise<DomainImage>;
  /** A suspended domain runs again where it is (xl's libxl_domain_resume with suspend_cancel). */
  resume(domid: number): Promise<void>;
  /** Whether the domain is (still) shut down for a suspend. */
  isSuspended(domid: number): boolean;
  rename(domid: number, name: string): Promise<void>;
  destroy(domid: number): Promise<void>;
}

export interface SendOptions {
  domid: number;
  name: string;
  type: DomainImage['hypervisor']['type'];
  maxPages: number;
  /** The config the stream carries (xl's libxl_domain_config JSON), or null for none. */
  configJson: string | null;
  /** The command run to reach the receiver, for messages. */
  rune: string;
  policy?: PrecopyPolicy;
  /**
   * --debug: after the last round, libxc's verify pass: a VERIFY record and every page
   * again, which the receiver compares with what it got (it reports pages that differ:
   * a write the dirty log missed). It lengthens the downtime by a full copy.
   */
  verify?: boolean;
}

/** What a migration did: the rounds (the last one with the domain suspended), totals and times. */
export interface MigrationReport {
  rounds: PrecopyRound[];
  pagesSent: number;
  bytes: number;
  totalMs: number;
  /** From the suspend until the target reported the domain running. */
  downtimeMs: number;
  /**
   * Where the downtime went: the guest suspending and its state being taken, the last
   * round and the final records going out, the target building the domain until it
   * said ready, and the "go" until the target reported it running.
   */
  phases: { suspendMs: number; lastRoundMs: number; targetRestoreMs: number; startMs: number };
}

/** The sender's lines on stderr, as xl prints them. */
export type Say = (line: string) => void;

const FAILED_BADLY = `** Migration failed during final handshake **
Domain state is now undefined !
Please CHECK AT BOTH ENDS for running instances, before renaming and
 resuming at most one instance.  Two simultaneous instances of the domain
 would probably result in SEVERE DATA LOSS and it is now your
 responsibility to avoid that.  Sorry.`;

export async function migrateDomain(src: MigrationSource, ch: PeerChannel, o: SendOptions, say: Say, now: () => number = () => performance.now()): Promise<MigrationReport> {
  const t0 = now();
  // migrate_do_preamble: nothing is done to the domain until the receiver is there.
  try {
    await readFixedMessage(ch.reader, MIGRATE_RECEIVER_BANNER, 'banner', o.rune);
  } catch (err) {
    ch.end();
    throw err;
  }
  const writer = new SaveStreamWriter((pieces) => ch.write(pieces));
  const precopy = new PrecopySender(src.domctl, o.domid, writer, o.policy);
  let suspended = false;
  let tSuspend = 0;
  let tSuspended = 0;
  let tSent = 0;
  const failedResume = async (why: string): Promise<never> => {
    ch.end();
    say(why);
    if (suspended) {
      try {
        await src.resume(o.domid);
      } catch (err) {
        say(`migration sender: resuming the domain failed: ${(err as Error).message}`);
      }
    }
    throw new MigrationError('Migration failed, resuming at sender.');
  };

  const sendFailed = (err: unknown): Promise<never> => failedResume(`migration sender: libxl_domain_suspend failed (rc=${ERROR_FAIL}): ${(err as Error).message}`);
  let image: DomainImage;
  try {
    try {
      await writer.xlHeader(o.configJson);
      await writer.begin(o.type, o.maxPages);
      await precopy.live();
    } catch (err) {
      return await sendFailed(err);
    }
    tSuspend = now();
    try {
      image = await src.suspend(o.domid);
    } catch (err) {
      // failed_suspend: the guest did not suspend, so it still runs; nothing to resume.
      ch.end();
      say(`migration sender: the domain did not suspend: ${(err as Error).message}`);
      throw new MigrationError('Migration failed, failed to suspend at sender.');
    }
    suspended = true;
    tSuspended = now();
    try {
      await precopy.final();
      if (o.verify === true) {
        await writer.verify();
        await writer.pages(src.domctl.backedFrames(o.domid), (gfn) => src.domctl.readFrame(o.domid, gfn));
      }
      // Something else (a host checkpoint's suspend and resume racing ours) may have let
      // the guest run meanwhile: then what went is not its state, and it must not start there.
      if (!src.isSuspended(o.domid)) {
        suspended = false;
        throw new MigrationError('the domain ran again during the last round (resumed by something else)');
      }
      await writer.finish(image, { pages: 'sent' });
      tSent = now();
    } catch (err) {
      return await sendFailed(err);
    }
  } finally {
    precopy.stop();
  }

  try {
    await readFixedMessage(ch.reader, MIGRATE_RECEIVER_READY, 'ready message', o.rune);
  } catch (err) {
    return failedResume((err as Error).message);
  }
  const tReady = now();
  say('migration sender: Target has acknowledged transfer.');
  // As for the last round: a domain something else let run since is not what the target has.
  if (!src.isSuspended(o.domid)) {
    suspended = false;
    return failedResume('migration sender: the domain ran again after the last round (resumed by something else)');
  }
  // About to give the target permission to rename and resume: rename ours away first.
  const away = `${o.name}--migratedaway`;
  try {
    await src.rename(o.domid, away);
  } catch (err) {
    return failedResume(`migration sender: renaming the domain to ${away}: ${(err as Error).message}`);
  }

  // The point of no return: once "go" may have reached the target, two copies could run.
  const tGo = now();
  say('migration sender: Giving target permission to start.');
  let status: number;
  try {
    await ch.write(MIGRATE_PERMISSION_TO_GO);
    await readFixedMessage(ch.reader, MIGRATE_REPORT, 'success/failure report message', o.rune);
    status = (await ch.reader.read(1, 'success/failure status', ch.reader.offset))[0]!;
  } catch (err) {
    ch.end();
    say((err as Error).message);
    throw new MigrationError(FAILED_BADLY);
  }
  const tReport = now();
  const downtimeMs = tReport - tSuspend;
  const phases = { suspendMs: tSuspended - tSuspend, lastRoundMs: tSent - tSuspended, targetRestoreMs: tReady - tSent, startMs: tReport - tGo };

  if (status !== 0) {
    say(`migration sender: Target reports startup failure (status code ${status}).`);
    try {
      await readFixedMessage(ch.reader, MIGRATE_PERMISSION_TO_GO, 'permission for sender to resume', o.rune);
    } catch (err) {
      ch.end();
      say((err as Error).message);
      throw new MigrationError(FAILED_BADLY);
    }
    ch.end();
    say('migration sender: Trying to resume at our end.');
    await src.rename(o.domid, o.name).catch(() => {});
    try {
      await src.resume(o.domid);
      say('migration sender: Resumed OK.');
    } catch (err) {
      say(`migration sender: resuming the domain failed: ${(err as Error).message}`);
    }
    throw new MigrationError('Migration failed due to problems at target.');
  }

  ch.end();
  say('migration sender: Target reports successful startup.');
  await src.destroy(o.domid);
  say('Migration successful.');
  return { rounds: precopy.rounds, pagesSent: precopy.pagesSent, bytes: writer.bytes, totalMs: now() - t0, downtimeMs, phases };
}
