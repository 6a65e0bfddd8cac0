#!/usr/bin/env node
// xenemu's entry point. The xenstore tools are the hot path of scripts (one process
// per key), so `xenemu xenstore <tool> ...` skips loading oclif when no help is asked
// for; everything else, and all help, goes through oclif.
import { fastXenstore } from '../dist/src/compat/fast-path.js';

const handled = await fastXenstore(process.argv.slice(2));
if (!handled) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
