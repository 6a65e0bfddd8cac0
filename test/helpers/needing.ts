import test, { type Implementation } from 'ava';

/**
 * Register a test that compares against something the machine may lack (a real tool,
 * a compiler, a peer daemon). When `missing` names what is missing, the test is
 * registered as skipped with that reason in its title, so the run counts it as
 * skipped (scripts/run-tests.js reads ava's "# SKIP") and never as passed.
 */
export function needing(missing: string | null, options: { serial?: boolean } = {}): (title: string, impl: Implementation<[]>) => void {
  const register = options.serial === true ? test.serial : test;
  return (title, impl) => {
    if (missing === null) register(title, impl);
    else register.skip(`${title} (skipped: ${missing})`, impl);
  };
}
