#!/usr/bin/env node
// xenemu's entry point. The commands scripts run over and over (the xl verbs, the
// xenstore tools) skip loading oclif when no help is asked for (src/cli/dispatch.ts);
// everything else, and all help, goes through oclif.
import { dispatch } from '../dist/src/cli/dispatch.js';

const { handled, argv } = await dispatch(process.argv.slice(2), new URL('../oclif.manifest.json', import.meta.url));
if (!handled) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url, args: argv });
}
