// smoke in the workflow tier: its markers are stubs that change nothing on the machine.
import type * as activities from './activities';
import { runbookStubs } from '../../test/runbook-stubs';

export default runbookStubs<typeof activities>({
  stubs: {
    writeMarker: async () => ({ changed: true }),
    removeMarker: async () => ({ changed: true }),
  },
  params: { smoke: {} },
  // Its two marker steps come before its gate by design: it checks the engine, not an environment.
  acted: { smoke: () => false },
});
