// A notice in each format (activities/notice-format.ts): the JSON object as the run wrote it,
// Slack's `text` with its three escapes and markup made inert, Teams' Adaptive Card envelope;
// each with the run's link and the exact commands to act, a strange run id shell-quoted.
import { strict as assert } from 'node:assert';
import type { Notice } from '../common/notice';
import { noticeBody, runLink } from '../activities/notice-format';

const HOSTILE = '<!channel> *now* [click](http://evil.example/x) & <http://evil.example|ok> `x`';

const gate: Notice = {
  id: 'deploy-prod-1:notice:1:failure_gate_opened',
  event: 'failure_gate_opened',
  runId: 'deploy-prod-20261207T120000Z-ab12',
  runbook: 'deploy',
  env: 'prod',
  initiator: 'alice',
  at: '2026-12-07T12:00:00.000Z',
  step: 'switch traffic',
  host: 'lb',
  error: HOSTILE,
  skippable: false,
  deadline: '2026-12-07T13:00:00.000Z',
};
const link = runLink('http://ui.example:8233/', 'default', gate.runId);

describe('notice formats', function () {
  it("link to the run's page in the Web UI", function () {
    assert.equal(link, `http://ui.example:8233/namespaces/default/workflows/${gate.runId}`);
    assert.equal(runLink(undefined, 'default', gate.runId), undefined);
  });

  it('JSON: the notice as the run wrote it, with its title, link and commands', function () {
    const body = noticeBody('json', gate, link) as Record<string, unknown>;
    assert.equal(body.event, 'failure_gate_opened');
    assert.equal(body.error, HOSTILE);
    assert.equal(body.link, link);
    assert.deepEqual(body.commands, [
      `runbook retry ${gate.runId} --as <approver> --comment "..."`,
      `runbook rollback ${gate.runId} --as <approver> --comment "..."`,
    ]);
    assert.match(String(body.title), /^Step failed: deploy on prod waits for a decision at switch traffic$/);
  });

  it('Slack: &, <, > escaped, no mention, link or markup from the run, the commands in a code block', function () {
    const { text } = noticeBody('slack', gate, link) as { text: string };
    const outsideLink = text.replace(`<${link}|Open the run>`, '');
    assert.ok(!/[<>]/.test(outsideLink), outsideLink);
    assert.ok(!text.includes('<!channel>') && text.includes('&lt;!'));
    assert.ok(!text.includes('*now*'), 'emphasis from the error is inert');
    assert.ok(!text.includes('http://evil'), 'a URL from the error makes no link');
    assert.ok(text.includes('&amp;'));
    assert.ok(text.includes(`\`\`\`runbook retry ${gate.runId} --as &lt;approver&gt; --comment "..."`), text);
    assert.match(text, /^\*Step failed: deploy on prod waits for a decision at switch traffic\*/);
  });

  it('Teams: an Adaptive Card in a message envelope, its facts inert, an Open action with the link', function () {
    const body = noticeBody('teams', gate, link) as {
      type: string;
      attachments: { contentType: string; content: Record<string, unknown> }[];
    };
    assert.equal(body.type, 'message');
    assert.equal(body.attachments.length, 1);
    const [attachment] = body.attachments;
    assert.equal(attachment.contentType, 'application/vnd.microsoft.card.adaptive');
    const card = attachment.content as { type: string; version: string; body: unknown[]; actions: unknown[] };
    assert.equal(card.type, 'AdaptiveCard');
    assert.deepEqual(card.actions, [{ type: 'Action.OpenUrl', title: 'Open the run', url: link }]);
    const text = JSON.stringify(card.body);
    assert.ok(!text.includes('[click](http://evil') && !text.includes('*now*'), text);
    assert.ok(text.includes(`runbook rollback ${gate.runId} --as <approver> --comment \\"...\\"`), text);
  });

  it('quote a run id a shell would read as more than a word, in every command', function () {
    const odd = { ...gate, runId: "x'; rm -rf / #" };
    const body = noticeBody('json', odd, undefined) as { commands: string[]; link: unknown };
    assert.equal(body.commands[0], `runbook retry 'x'\\''; rm -rf / #' --as <approver> --comment "..."`);
    assert.equal(body.link, null);
  });

  it('name what a person must do when a run ended with work left', function () {
    const left: Notice = {
      ...gate,
      event: 'run_failed_compensation',
      step: undefined,
      error: undefined,
      leftToUndo: ['install release', 'migrate'],
      reason: 'check health: 502',
    };
    const { text } = noticeBody('slack', left, link) as { text: string };
    assert.match(text, /Rollback incomplete: deploy on prod left work to undo by hand/);
    assert.match(text, /\*Left to undo:\* install release, migrate/);
    assert.ok(text.includes(`runbook status ${gate.runId}`));
  });
});
