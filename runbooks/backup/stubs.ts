// backup in the workflow tier: a verified backup, retention that deletes nothing.
import type * as activities from './activities';
import { called, runbookStubs } from '../../test/runbook-stubs';

export default runbookStubs<typeof activities>({
  stubs: {
    removeBackup: async () => undefined,
    verifyInScratch: async () => ({ tables: 3, rows: 42 }),
    applyRetention: async ({ keep }) => ({ kept: [keep], deleted: [] }),
  },
  params: { backup: {} },
  // Below the retention floor: beyond the bounds, so its gate waits even in a co-signed schedule's run.
  protectedParams: { backup: { daily: '0', weekly: '0' } },
  acted: { backup: (c) => called(c, 'applyRetention') },
});
