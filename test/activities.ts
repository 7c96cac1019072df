// Activities only tests register: they run any command as root on a test-bed host, so the
// production worker never offers them (activities/index.ts lists what it offers).
import * as activities from '../activities';
import { runCommand, runStepCommand, undoStepCommand } from '../activities/hosts';

export const testOnlyActivities = { runCommand, runStepCommand, undoStepCommand };

/** What a test worker registers: the production activities plus the test-only ones. */
export const testActivities = { ...activities, ...testOnlyActivities };
