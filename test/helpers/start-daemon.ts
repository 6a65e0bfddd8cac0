// Used by the start-race test: one CLI-like process that makes sure the daemon runs
// and prints whether it was the one to start it.
import { ensureDaemon } from '../../src/client/daemon.js';
import { resolveHome, statePaths } from '../../src/state/state-dir.js';

const started = await ensureDaemon(statePaths(resolveHome()));
process.stdout.write(started ? 'started\n' : 'found\n');
