/**
 * blkback serves a block device when `params` names one: here a loop device over an
 * image, which needs root and losetup (the test is skipped with the reason otherwise).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { needing } from '../../helpers/needing.js';
import { attachDisk, machineWithGuest, pattern, readNode, backPath, scratchImage } from './helpers.js';

function loopProblem(): string | null {
  if (process.getuid?.() !== 0) return 'attaching a loop device needs root';
  try {
    execFileSync('losetup', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'losetup is not installed (util-linux)';
  }
  return null;
}

needing(loopProblem())('a block device (a loop device over an image): its size from sysfs, I/O through it lands in the image', async (t) => {
  const img = scratchImage(4 * 1024 * 1024);
  let loop: string;
  try {
    loop = execFileSync('losetup', ['--find', '--show', img.path], { encoding: 'utf8' }).trim();
  } catch (err) {
    img.dispose();
    t.log(`losetup failed: ${(err as Error).message}`);
    t.pass('no free loop device on this machine');
    return;
  }
  const { tm, domid, kernel } = await machineWithGuest();
  t.teardown(async () => {
    await tm.dispose();
    execFileSync('losetup', ['-d', loop]);
    img.dispose();
  });
  const spec = { frontDomid: domid, backDomid: 0, vdev: 51712, target: loop };
  const xvda = await attachDisk(tm, kernel, spec, 'xvda');
  t.is(await readNode(tm.xs, `${backPath(spec)}/sectors`), String(8192));
  t.regex(tm.m.dom0.log.lines.join('\n'), new RegExp(`xbbd0: backend/vbd/${domid}/51712: device ${loop} \\(4194304 bytes, read-write\\)`));
  const data = pattern(64 * 1024, 21);
  await xvda.write(8192, data);
  await xvda.flush();
  t.deepEqual(await xvda.read(8192, 64 * 1024), data);
  t.deepEqual(new Uint8Array(readFileSync(img.path).subarray(8192, 8192 + 64 * 1024)), data, 'through the loop device into the file');
});
