/**
 * `xl migrate-receive` (xl_migrate.c: migrate_receive, with create_domain restoring from
 * the stream): the banner, the whole stream into a new paused domain named
 * "<name>--incoming", the ready message, and on the sender's "go" the rename to the
 * domain's own name and the unpause; then the report. A target that cannot start its
 * copy destroys it and gives the sender permission to resume its own.
 */

import { XenemuError } from '../../common/errors.js';
import type { ByteSource } from './byte-source.js';
import { ERROR_FAIL, ERROR_INVAL, MIGRATE_PERMISSION_TO_GO, MIGRATE_RECEIVER_BANNER, MIGRATE_RECEIVER_READY, MIGRATE_REPORT, MigrationError, readFixedMessage } from './handshake.js';
import type { DomainImage } from './image.js';
import type { PeerChannel, Say } from './sender.js';
import { readLibxlStream, readXlHeader, type PageBound } from './stream-reader.js';

/** What the receiver does on this host (the toolstack's restore, rename, unpause, destroy). */
export interface MigrationTarget {
  /**
   * Before any page is read: the memory the header's config declares against what this
   * host has free (xl's freemem), and the bound the pages are read within; throws if
   * the domain cannot have it.
   */
  admit(configJson: string | null): PageBound;
  /**
   * A new domain from the image, paused, named `name` (xl's create_domain from a
   * migration stream): its domid, and `devices`, which settles once its devices'
   * backends are up (rejecting: the domain cannot start, and is the receiver's to destroy).
   */
  restore(image: DomainImage, configJson: string | null, name: string): Promise<{ domid: number; devices: Promise<void> }>;
  rename(domid: number, name: string): Promise<void>;
  unpause(domid: number): Promise<void>;
  destroy(domid: number): Promise<void>;
}

export interface ReceiveOptions {
  /** -p: leave the domain paused once it is ours. */
  paused: boolean;
}

/** The libxl error code xl would have had for a failure of ours (ERROR_INVAL for a name taken, as libxl_domain_rename). */
function libxlRc(err: unknown): number {
  return err instanceof XenemuError && (err.code === 'EEXIST' || err.code === 'EINVAL') ? ERROR_INVAL : ERROR_FAIL;
}

/** How it ended: the domain runs here (started), or its copy here was destroyed and the sender keeps it. */
export interface ReceiveResult {
  started: boolean;
  domid: number;
  name: string;
}

/**
 * Throws (xl exits 1) when the stream could not be read into a domain or the pipe broke
 * while answering; a domain that arrived but could not start is reported to the sender
 * and destroyed here, which xl counts as a success of the receiver (it exits 0).
 */
export async function migrateReceive(target: MigrationTarget, ch: PeerChannel & { reader: ByteSource }, o: ReceiveOptions, say: Say): Promise<ReceiveResult> {
  say('migration target: Ready to receive domain.');
  await ch.write(MIGRATE_RECEIVER_BANNER);

  let domid: number;
  let devices: Promise<void>;
  let name: string;
  try {
    const { configJson } = await readXlHeader(ch.reader);
    const bound = target.admit(configJson);
    const image = await readLibxlStream(ch.reader, {
      trailing: 'keep',
      bound,
      // The sender's --debug verify pass: libxc logs each page that differs.
      onVerify: (v) => {
        for (const pfn of v.differ.slice(0, 8)) say(`migration target: verify pfn 0x${pfn.toString(16)} failed`);
        say(`migration target: verify: ${v.compared} pages compared, ${v.differ.length} differ`);
      },
    });
    name = image.record.name;
    ({ domid, devices } = await target.restore(image, configJson, `${name}--incoming`));
  } catch (err) {
    // The sender, waiting for the ready message, sees our end of the pipe and resumes its copy.
    ch.end();
    say(`migration target: ${(err as Error).message}`);
    throw new MigrationError(`migration target: Domain creation failed (code ${ERROR_FAIL}).`);
  }

  say('migration target: Transfer complete, requesting permission to start domain.');
  try {
    await ch.write(MIGRATE_RECEIVER_READY);
    await readFixedMessage(ch.reader, MIGRATE_PERMISSION_TO_GO, 'GO message', null);
  } catch (err) {
    // The sender kept its domain (or is gone): our copy can never start, so it goes
    // rather than stay paused as NAME--incoming, as xl's would.
    ch.end();
    say(`migration target: ${(err as Error).message}`);
    await devices.catch(() => {});
    await target.destroy(domid).catch((e: Error) => say(`migration target: Failed to destroy our copy: ${e.message}`));
    throw new MigrationError('migration target: no permission to start the domain came; our copy is destroyed.');
  }
  let rc = 0;
  try {
    say('migration target: Got permission, starting domain.');
    // Its backends came up while the sender was deciding; one that failed stops the start.
    await devices;
    await target.rename(domid, name);
    if (!o.paused) await target.unpause(domid);
    say('migration target: Domain started successsfully.');
  } catch (err) {
    say(`migration target: ${(err as Error).message}`);
    rc = libxlRc(err);
  }

  // perhaps_destroy_notify_rc: the report, then the status byte (-rc).
  await ch.write(MIGRATE_REPORT);
  await ch.write(Uint8Array.of(-rc));
  if (rc === 0) {
    ch.end();
    return { started: true, domid, name };
  }
  say('migration target: Failure, destroying our copy.');
  try {
    await target.destroy(domid);
  } catch (err) {
    ch.end();
    throw new MigrationError(`migration target: Failed to destroy our copy (code ${ERROR_FAIL}): ${(err as Error).message}`);
  }
  say('migration target: Cleanup OK, granting sender permission to resume.');
  await ch.write(MIGRATE_PERMISSION_TO_GO);
  ch.end();
  return { started: false, domid, name };
}
