// A test file's tier is its name: `NAME.<tier>.test.ts`, and each tier's mocha config selects
// its files by that glob alone (.mocharc.<tier>.json). No list to keep, so no file runs in two
// tiers and none lands in the slowest one by default.
export const TIERS = ['fast', 'workflow', 'bed', 'cluster'] as const;
export type Tier = (typeof TIERS)[number];

// One dot-free name, one tier, then `.test.ts` (source) or `.test.js` (built).
const NAMED = new RegExp(`^[^.]+\\.(${TIERS.join('|')})\\.test\\.[jt]s$`);

/** The tier a test file's base name gives it; undefined when it names none, or more than one. */
export function tierOf(fileName: string): Tier | undefined {
  return NAMED.exec(fileName)?.[1] as Tier | undefined;
}

/** The folders holding test files: the engine's, and each runbook's own (runbooks/<name>/). */
export const TEST_DIRS = ['test', 'runbooks'] as const;

/** The globs of a tier's built files, as its mocha config selects them. */
export function tierGlobs(tier: Tier): string[] {
  return TEST_DIRS.map((dir) => `dist/${dir}/**/*.${tier}.test.js`);
}
