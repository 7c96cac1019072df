// Text from outside (a decision's name and comment, a host's output, a run's input, a client's
// identity) as a view shows it: inert. A terminal must not take an escape sequence in an
// approver's name as a command (one that moves the cursor back and overwrites a line with
// "approved by bob"), nor a bidi override as an order to show text backwards; the Web UI's
// Markdown must not take a link or emphasis in a name as markup. Only views pass text through
// here: `--json` output and the run's record stay exactly as sent. Imported by workflow code
// (the Web UI's details are written by the run): no Node built-ins, no I/O.

/** ANSI escape sequences: CSI (`ESC [ ... m`), OSC (`ESC ] ... BEL`), DCS and kin (`ESC P ... ESC \`), 2-byte ones. */
const ESCAPE_SEQUENCE =
  /\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[ -/]*[0-~]?)/g;
/** C0 controls but tab and newline, DEL, C1 controls (the 8-bit CSI and OSC among them). */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/** Bidi embeddings, overrides and isolates: they reorder what follows on screen. */
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;
/** What Markdown may read as markup inside a line: emphasis, code, links, images, HTML, entities, tables, escapes. */
const MARKDOWN = /[\\`*_[\]<>!&~|#]/g;

/**
 * `value` as text that does nothing on a terminal: escape sequences, control characters and bidi
 * overrides removed. One line unless `multiline` (a command's output), where tabs and line
 * breaks are kept: elsewhere a line break in a name would draw a line of its own.
 */
export function inertText(value: unknown, multiline = false): string {
  const text = (typeof value === 'string' ? value : String(value))
    .replace(ESCAPE_SEQUENCE, '')
    .replace(CONTROL, '')
    .replace(BIDI, '');
  return multiline ? text : text.replace(/[\t\n]+/g, ' ');
}

/** `value` as inert text inside a line of Markdown: one line, every character that could be markup escaped. */
export function markdownText(value: unknown): string {
  return inertText(value).replace(MARKDOWN, '\\$&');
}

/** `value` as a Markdown code span, whatever backticks it holds: the span's fence is longer than any run in it. */
export function markdownCode(value: unknown): string {
  const text = inertText(value);
  const fence = '`'.repeat(longestRun(text, '`') + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A fenced Markdown code block's fence for `lines`: longer than any run of backticks in them (at least 3). */
export function markdownFence(lines: readonly string[]): string {
  return '`'.repeat(Math.max(3, ...lines.map((l) => longestRun(l, '`') + 1)));
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}
