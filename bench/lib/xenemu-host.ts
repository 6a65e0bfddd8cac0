import { startHost, tempHome, type TestHost } from '../../test/helpers/daemon.js';

/**
 * A xenemu daemon in a scratch state dir, persistence on, as users run it: the
 * compiled daemon from dist/ (run `npm run build` first), not the sources under tsx.
 * `prepare` may put files (host.yaml, xenstored.conf) into the state dir first.
 */
export async function startXenemu(prepare?: (home: string) => void): Promise<TestHost> {
  const compiled = (await import(new URL('../../dist/src/client/daemon.js', import.meta.url).href)) as typeof import('../../src/client/daemon.js');
  const home = tempHome();
  prepare?.(home);
  return startHost(home, compiled.ensureDaemon);
}

export async function stopXenemu(host: TestHost): Promise<void> {
  await host.dispose();
}
