import { rmSync } from 'node:fs';
import { startHost, tempHome, type TestHost } from '../../test/helpers/daemon.js';

/** A xenemu daemon in a scratch state dir, persistence on, as users run it. */
export async function startXenemu(): Promise<TestHost> {
  return startHost(tempHome());
}

export async function stopXenemu(host: TestHost): Promise<void> {
  await host.dispose();
  rmSync(host.paths.home, { recursive: true, force: true });
}
