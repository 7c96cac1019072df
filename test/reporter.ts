// Mocha's spec output, closed by the plain "N passed, N failed, N skipped" line that CI reads.
import Mocha from 'mocha';

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      // After the spec reporter's own summary, which it prints on the same event.
      setImmediate(() => console.log(`\n${passes} passed, ${failures} failed, ${pending} skipped`));
    });
  }
}

export = SpecWithTotals;
