// A notice in each target's format: a JSON object (for your own receivers), a Slack incoming
// webhook's `text` (mrkdwn), a Teams workflow webhook's Adaptive Card. Every one carries what
// happened, the run's link and the exact commands to act on it. Text from a run (step names,
// errors, hosts' output) is made inert in the chat formats: no mention, link or markup it holds
// does anything there. Not an activity module: pure functions, tested fast.
import type { Notice, NoticeFormat } from '../common/notice';
import { inertText } from '../common/inert';
import { shellQuote } from './ssh/quote';

/** What a notice says, whatever its format. */
export interface NoticeView {
  title: string;
  facts: [name: string, value: string][];
  /** The exact commands to act on the event, one per line. */
  commands: string[];
  link?: string;
}

/** The run's page in the Web UI; none when the worker does not know the UI's address. */
export function runLink(uiUrl: string | undefined, namespace: string, runId: string): string | undefined {
  if (!uiUrl) return undefined;
  const base = uiUrl.replace(/\/$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(runId)}`;
}

/** A run id as a shell word: as it is when plain, quoted otherwise (a run id is whatever its starter chose). */
function word(runId: string): string {
  return /^[A-Za-z0-9._:@+=-]+$/.test(runId) ? runId : shellQuote(runId);
}

export function noticeView(n: Notice, link: string | undefined): NoticeView {
  const run = `${n.runbook} on ${n.env}`;
  const id = word(n.runId);
  const facts: [string, string][] = [
    ['Run', n.runId],
    ['Started by', n.initiator],
  ];
  const add = (name: string, value: unknown) => {
    if (value !== undefined && value !== '' && !(Array.isArray(value) && !value.length))
      facts.push([name, Array.isArray(value) ? value.join(', ') : String(value)]);
  };
  let title: string;
  let commands: string[] = [`runbook status ${id}`];
  switch (n.event) {
    case 'approval_gate_opened':
      title = `Approval needed: ${run} waits at ${n.gate}`;
      add('Gate', n.gate);
      add('Approvals needed', n.required);
      add('Approvers', n.approvers);
      add('Decide by', n.deadline);
      commands = [
        `runbook approve ${id} --as <approver> --comment "..."`,
        `runbook reject ${id} --as <approver> --comment "<why>"`,
      ];
      break;
    case 'failure_gate_opened':
      title = `Step failed: ${run} waits for a decision at ${n.step}`;
      commands = [
        `runbook retry ${id} --as <approver> --comment "..."`,
        `runbook rollback ${id} --as <approver> --comment "..."`,
        ...(n.skippable ? [`runbook skip ${id} --as <approver> --comment "<why>"`] : []),
      ];
      add('Decide by', n.deadline);
      break;
    case 'run_completed':
      title = `Completed: ${run}`;
      break;
    case 'run_compensated':
      title = `Rolled back: ${run}`;
      break;
    case 'run_failed_compensation':
      title = `Rollback incomplete: ${run} left work to undo by hand`;
      break;
    case 'run_settled_then_failed':
      title = `Settled then failed: ${run}: what it settled stands, what follows needs a person`;
      break;
    case 'step_rerun_after_lost_worker':
      title = `Worker lost: ${run} runs ${n.step} again (rerun ${n.reruns ?? 1})`;
      break;
    case 'run_cut_off':
      title = `Ended from outside: ${run} was stopped mid-run; its undos never ran`;
      break;
  }
  add('Step', n.step);
  add('Host', n.host);
  add('Error', n.error);
  add('Why', n.reason);
  add('Stands', n.stands);
  add('To do', n.todo);
  add('Left to undo', n.leftToUndo);
  if (n.identity === 'signed') add('Decisions', 'signed: the CLI signs with your key (see runbook sign)');
  return { title, facts, commands, ...(link ? { link } : {}) };
}

/** The body POSTed to a target of `format`. */
export function noticeBody(format: NoticeFormat, n: Notice, link: string | undefined): unknown {
  const view = noticeView(n, link);
  if (format === 'slack') return slackBody(view);
  if (format === 'teams') return teamsBody(view);
  return { ...n, title: view.title, link: view.link ?? null, commands: view.commands };
}

// Markup characters of Slack's mrkdwn and Teams' Markdown (a link needs its `[`), and a URL's
// scheme separator (both make links of bare URLs): each gets a zero-width space after it, which
// neither can escape otherwise, so `*bold*`, `<!channel>` or `[x](http://...)` shows as typed.
const MARKUP = /[*_~`[\]#>|!\\]|:\/\//g;
const ZWSP = '\u200b';

function inertMarkup(value: string): string {
  return inertText(value).replace(MARKUP, (m) => `${m}${ZWSP}`);
}

/** Slack's three escapes (&, <, >): what stays of them cannot open a link, a mention or a command. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function slackBody(view: NoticeView): { text: string } {
  const text = (s: string) => slackEscape(inertMarkup(s));
  const lines = [`*${text(view.title)}*`, ...view.facts.map(([k, v]) => `*${k}:* ${text(v)}`)];
  if (view.link) lines.push(`<${slackEscape(view.link).replace(/\|/g, '%7C')}|Open the run>`);
  // In a code block mrkdwn formats nothing; a backtick in a run id could close it early.
  const code = view.commands.map((c) => slackEscape(inertText(c).replace(/`/g, "'"))).join('\n');
  lines.push('To act on it:', `\`\`\`${code}\`\`\``);
  return { text: lines.join('\n') };
}

function teamsBody(view: NoticeView): unknown {
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [
      { type: 'TextBlock', text: inertMarkup(view.title), weight: 'Bolder', size: 'Medium', wrap: true },
      { type: 'FactSet', facts: view.facts.map(([title, value]) => ({ title, value: inertMarkup(value) })) },
      { type: 'TextBlock', text: 'To act on it:', wrap: true },
      // Monospace and unescaped, so a copy is the exact command: a run id that needs it is shell-quoted.
      ...view.commands.map((c) => ({ type: 'TextBlock', text: inertText(c), fontType: 'Monospace', wrap: true })),
    ],
    ...(view.link ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the run', url: view.link }] } : {}),
  };
  return {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }],
  };
}
