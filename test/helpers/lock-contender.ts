/**
 * A process that takes and releases a FileLock `rounds` times, each time waiting up
 * to `waitMs`; prints how many attempts got null. Run by test/host/lock.test.ts, as
 * fcntl locks only contend between processes.
 */
import { FileLock } from '../../src/state/lock.js';

const [path, rounds, waitMs] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
let missed = 0;
for (let i = 0; i < rounds; i++) {
  const lock = await FileLock.acquire(path, waitMs);
  if (lock === null) missed++;
  else lock.release();
}
process.stdout.write(`${missed}\n`);
