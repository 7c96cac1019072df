// The README and docs/ say where to read on and what to type: every relative link must lead to a
// file (and a heading of it, when it names one), every `npm run X` to a script of package.json,
// every `runbook X` to a command the CLI dispatches, every repository path quoted in code to a
// file. Each check collects every failure of every page before it fails, so one run lists them all.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { COMMANDS, HELP } from '../cli/commands';
import { SUBCOMMANDS } from '../cli/schedule';
import { SIGN_DECISIONS } from '../cli/sign';
import { USAGE } from '../cli/usage';

interface Page {
  /** Relative to the project root, e.g. `docs/inventory.md`. */
  file: string;
  /** The page's prose, fenced code blocks and inline code removed, line by line. */
  prose: { line: number; text: string }[];
  /** Every fenced code block line and inline code span, with the line it is on. */
  code: { line: number; text: string }[];
  headings: string[];
}

const FENCE = /^\s*(```|~~~)/;
/** An inline code span; it may wrap onto the next lines of its paragraph, never past a blank line. */
const SPAN = /`((?:[^`\n]|\n(?![ \t]*\n))+)`/g;

function readPage(file: string, text: string): Page {
  const page: Page = { file, prose: [], code: [], headings: [] };
  let fence: string | undefined;
  let paragraph: { line: number; lines: string[] } | undefined;
  const endParagraph = () => {
    if (!paragraph) return;
    const { line: first, lines } = paragraph;
    const joined = lines.join('\n');
    const lineAt = (offset: number) => first + (joined.slice(0, offset).match(/\n/g)?.length ?? 0);
    for (const m of joined.matchAll(SPAN))
      page.code.push({ line: lineAt(m.index), text: m[1].replace(/\s*\n\s*/g, ' ') });
    // Spans blanked out, their line breaks kept, so what is left is prose on its own lines.
    const prose = joined.replace(SPAN, (span) => span.replace(/[^\n]/g, ' '));
    prose.split('\n').forEach((text, i) => page.prose.push({ line: first + i, text }));
    paragraph = undefined;
  };
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const opening = FENCE.exec(raw)?.[1];
    if (fence) {
      if (opening === fence) fence = undefined;
      else page.code.push({ line, text: raw });
      return;
    }
    if (opening) {
      endParagraph();
      fence = opening;
      return;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (heading) page.headings.push(heading[1]);
    if (heading || !raw.trim()) {
      endParagraph();
      if (heading) paragraph = { line, lines: [raw] };
      endParagraph();
      return;
    }
    paragraph ??= { line, lines: [] };
    paragraph.lines.push(raw);
  });
  endParagraph();
  return page;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes; repeats get -1, -2. */
function anchors(headings: readonly string[]): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const heading of headings) {
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

/** Links of a page that point inside the repository: `[text](target)`, not a URL. */
function relativeLinks(page: Page): { line: number; target: string }[] {
  const links: { line: number; target: string }[] = [];
  for (const { line, text } of page.prose)
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1])) links.push({ line, target: m[1] });
  return links;
}

function brokenLinks(page: Page, root: string, read: (file: string) => Page | undefined): string[] {
  const failures: string[] = [];
  for (const { line, target } of relativeLinks(page)) {
    const [file, anchor] = target.split('#', 2);
    const where = `${page.file}:${line}: ${target}`;
    if (!file) {
      if (!anchors(page.headings).has(anchor)) failures.push(`${where}: ${page.file} has no heading #${anchor}`);
      continue;
    }
    const resolved = path.normalize(path.join(path.dirname(page.file), decodeURI(file)));
    if (resolved.startsWith('..') || !fs.existsSync(path.join(root, resolved))) {
      failures.push(`${where}: no file ${resolved}`);
      continue;
    }
    if (anchor === undefined) continue;
    const linked = resolved.endsWith('.md') ? read(resolved) : undefined;
    if (!linked) failures.push(`${where}: ${resolved} has no headings to link to`);
    else if (!anchors(linked.headings).has(anchor)) failures.push(`${where}: ${resolved} has no heading #${anchor}`);
  }
  return failures;
}

/** `npm run X` (also `npm run --silent X`) named in code: X must be a script. */
function unknownScripts(page: Page, scripts: ReadonlySet<string>): string[] {
  const failures: string[] = [];
  for (const { line, text } of page.code)
    for (const m of text.matchAll(/\bnpm run(?:\s+--silent)?\s+([A-Za-z0-9:_.-]+)/g))
      if (!scripts.has(m[1])) failures.push(`${page.file}:${line}: npm run ${m[1]}: no such script in package.json`);
  return failures;
}

/**
 * The runbook commands named in code, where a command starts: `runbook X` at the start of a line or
 * span or after `;`, `&&`, `|`, `(`, `$(` or `VAR=value`, and `npm run runbook -- X`, `npx runbook X`.
 * A comment saying "the runbook engine" names no command.
 */
const COMMAND_START = String.raw`(?:^|[;&|(\x60]|\$\(|\bnpx\s|\bnpm run\s|\b[A-Z][A-Z0-9_]*=\S*\s)`;
const RUNBOOK_COMMAND = new RegExp(
  String.raw`${COMMAND_START}\s*runbook(?:\s+--)?\s+([a-z][a-z0-9-]*)(?:\s+([a-z][a-z0-9-]*))?`,
  'gm',
);

function runbookCommands(text: string): { command: string; sub?: string }[] {
  return [...text.matchAll(RUNBOOK_COMMAND)].map((m) => ({ command: m[1], sub: m[2] }));
}

/** What the CLI dispatches: its commands, and the subcommands of `schedule` and `sign`. */
const CLI = {
  commands: new Set([...Object.keys(COMMANDS), ...HELP]),
  subcommands: { schedule: new Set(Object.keys(SUBCOMMANDS)), sign: new Set<string>(SIGN_DECISIONS) } as Record<
    string,
    Set<string> | undefined
  >,
};

function unknownCommands(page: Page): string[] {
  const failures: string[] = [];
  for (const { line, text } of page.code)
    for (const { command, sub } of runbookCommands(text)) {
      const where = `${page.file}:${line}: runbook ${command}`;
      if (!CLI.commands.has(command)) failures.push(`${where}: the CLI has no such command`);
      const subs = CLI.subcommands[command];
      if (subs && sub && !subs.has(sub)) failures.push(`${where} ${sub}: the CLI has no such subcommand`);
    }
  return failures;
}

/** A repository file quoted in code (`src/config.ts`, `deploy/systemd/worker.env.example`) must exist. */
const TOP_FOLDERS =
  'activities|bench|cli|cluster|common|deploy|dev|docs|inventory|scripts|src|test|testbed|worker|workflows';
const REPO_FILE = new RegExp(String.raw`^(?:${TOP_FOLDERS})/[\w./-]*\.[a-z]+$`);

function missingFiles(page: Page, root: string): string[] {
  const failures: string[] = [];
  for (const { line, text } of page.code)
    if (REPO_FILE.test(text) && !fs.existsSync(path.join(root, text)))
      failures.push(`${page.file}:${line}: ${text}: no such file`);
  return failures;
}

function docPages(root: string): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs.sort()];
}

function pageReader(root: string): (file: string) => Page | undefined {
  const cache = new Map<string, Page | undefined>();
  return (file) => {
    if (!cache.has(file)) {
      const full = path.join(root, file);
      cache.set(file, fs.existsSync(full) ? readPage(file, fs.readFileSync(full, 'utf8')) : undefined);
    }
    return cache.get(file);
  };
}

describe('docs: links and commands', function () {
  const read = pageReader(projectRoot);
  let pages: Page[] = [];
  before(function () {
    pages = docPages(projectRoot).map((f) => read(f) as Page);
  });
  const scripts = (): Set<string> => {
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    return new Set(Object.keys(pkg.scripts));
  };

  it('finds the pages, their links and their commands', function () {
    assert.ok(pages.length >= 10, `only ${pages.length} pages: ${pages.map((p) => p.file).join(', ')}`);
    const links = pages.flatMap(relativeLinks);
    const commands = pages.flatMap((p) => p.code.flatMap(({ text }) => runbookCommands(text)));
    assert.ok(links.length >= 30, `only ${links.length} relative links found`);
    assert.ok(commands.length >= 30, `only ${commands.length} runbook commands found`);
  });

  it('every relative link leads to a file, and to a heading of it when it names one', function () {
    const failures = pages.flatMap((p) => brokenLinks(p, projectRoot, read));
    assert.deepEqual(failures, [], `broken links:\n${failures.join('\n')}`);
  });

  it('every `npm run X` is a script of package.json', function () {
    const known = scripts();
    const failures = pages.flatMap((p) => unknownScripts(p, known));
    assert.deepEqual(failures, [], `unknown scripts:\n${failures.join('\n')}`);
  });

  it('every `runbook X` is a command the CLI dispatches', function () {
    const failures = pages.flatMap(unknownCommands);
    assert.deepEqual(failures, [], `unknown commands:\n${failures.join('\n')}`);
  });

  it('every command the CLI dispatches is named somewhere in the docs', function () {
    const named = new Set(
      pages.flatMap((p) =>
        p.code.flatMap(({ text }) =>
          runbookCommands(text).flatMap(({ command, sub }) => [command, `${command} ${sub}`]),
        ),
      ),
    );
    const undocumented = [
      ...Object.keys(COMMANDS).filter((c) => !named.has(c)),
      ...Object.keys(SUBCOMMANDS)
        .map((s) => `schedule ${s}`)
        .filter((s) => !named.has(s)),
    ];
    assert.deepEqual(undocumented, [], `commands no page names: ${undocumented.join(', ')}`);
  });

  it("docs/cli.md's usage block is what `runbook help` prints", function () {
    const text = fs.readFileSync(path.join(projectRoot, 'docs', 'cli.md'), 'utf8');
    const block = /```text\n([\s\S]*?)```/.exec(text)?.[1];
    assert.equal(
      block?.trimEnd(),
      USAGE,
      'paste the output of `runbook help` into the first text block of docs/cli.md',
    );
  });

  it('every repository file quoted in code exists', function () {
    const failures = pages.flatMap((p) => missingFiles(p, projectRoot));
    assert.deepEqual(failures, [], `missing files:\n${failures.join('\n')}`);
  });

  it('the README is at most 200 lines and starts with the demo and the whole test suite', function () {
    const text = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    assert.ok(lines <= 200, `README.md has ${lines} lines`);
    const first = /```sh\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
    const commands = first
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
    assert.deepEqual(commands, ['npm run demo', 'npm test']);
    assert.ok(text.indexOf('```sh') < text.indexOf('\n## '), 'the two commands come before the first section');
  });

  it('reports every kind of failure, all at once, on a page made to fail', function () {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
    try {
      fs.mkdirSync(path.join(root, 'docs'));
      fs.writeFileSync(path.join(root, 'docs', 'other.md'), '# Other\n\n## Its `first` part: yes\n');
      const text = [
        '# Page',
        '[fine](other.md#its-first-part-yes) [gone](missing.md) [bad anchor](other.md#nowhere)',
        '[self](#page) [url](https://example.com/x.md) `[not a link](nowhere.md)` [self gone](#nope)',
        '```sh',
        'npm run demo && npm run nope',
        'npm run runbook -- start x && runbook frobnicate y',
        'runbook schedule create x; runbook schedule explode x',
        'install -d -o root -g runbook -m 0750 /etc/runbook   # a runbook waiting, the runbook engine',
        'RUNBOOK_X=1 runbook nonsense && cd /opt/runbook; (runbook list)',
        '[in code](also-nowhere.md)',
        '```',
        'prose: `runbook sign approve`, `runbook sign launch`, `npx runbook help`, `src/nowhere.ts`, `src/config.ts`',
        'a span that wraps: `runbook start x --env',
        'local --dry-run` and then `runbook',
        'bogus --flag`.',
      ].join('\n');
      const page = readPage('docs/page.md', text);
      const readHere = pageReader(root);
      assert.deepEqual(brokenLinks(page, root, readHere), [
        'docs/page.md:2: missing.md: no file docs/missing.md',
        'docs/page.md:2: other.md#nowhere: docs/other.md has no heading #nowhere',
        'docs/page.md:3: #nope: docs/page.md has no heading #nope',
      ]);
      assert.deepEqual(unknownScripts(page, new Set(['demo', 'runbook'])), [
        'docs/page.md:5: npm run nope: no such script in package.json',
      ]);
      assert.deepEqual(unknownCommands(page), [
        'docs/page.md:6: runbook frobnicate: the CLI has no such command',
        'docs/page.md:7: runbook schedule explode: the CLI has no such subcommand',
        'docs/page.md:9: runbook nonsense: the CLI has no such command',
        'docs/page.md:12: runbook sign launch: the CLI has no such subcommand',
        'docs/page.md:14: runbook bogus: the CLI has no such command',
      ]);
      assert.deepEqual(missingFiles(page, projectRoot), ['docs/page.md:12: src/nowhere.ts: no such file']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
