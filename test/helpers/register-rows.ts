import type { TestFn } from 'ava';
import { EngineTarget, problemsOf, runGroup, type RowGroup } from './xs-rows.js';

/**
 * One ava test per row group, run against a fresh engine. A failing test lists every
 * row whose reply or events differ from the table, with the row's note.
 */
export function registerGroups(test: TestFn, groups: readonly RowGroup[], prefix = 't'): void {
  const seen = new Set<string>();
  for (const [i, group] of groups.entries()) {
    if (seen.has(group.name)) throw new Error(`duplicate group name ${group.name}`);
    seen.add(group.name);
    test(group.name, async (t) => {
      const target = new EngineTarget(group.options);
      const outcome = await runGroup(group, target, `/${prefix}-${i}`);
      await target.closeAll();
      const problems = problemsOf(outcome);
      t.deepEqual(problems, [], problems.join('\n'));
    });
  }
}
