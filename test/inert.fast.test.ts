// Text from outside shown inert: an approver's name that carries an escape sequence or a
// Markdown link is shown as text in status, watch, history and the Web UI's details.
import { strict as assert } from 'node:assert';
import { inertText, markdownCode, markdownText } from '../common/inert';
import { progressLines, progressMarkdown } from '../common/progress-view';
import type { RunProgress } from '../common/shared';
import { formatProgress } from '../cli/output';
import { formatAuditTrail } from '../cli/history';
import { LINK, OVERWRITE } from './attacker/stock-cli';

const T0 = '2026-12-01T10:00:00.000Z';

function attacked(): RunProgress {
  return {
    runbook: 'smoke',
    env: 'test',
    params: {},
    initiator: 'carol',
    state: 'WAITING_APPROVAL',
    steps: [{ name: 'check', status: 'failed', startedAt: T0, endedAt: T0, error: 'exit 1\x1b]0;owned\x07' }],
    gates: [],
    approvals: [
      { gate: 'go-ahead', approver: OVERWRITE, decision: 'approve', at: T0, via: 'signal', refused: 'not an approver' },
      { gate: 'go-ahead', approver: LINK, decision: 'approve', at: T0, via: 'signal', refused: 'not an approver' },
      { gate: 'go-ahead', approver: 'mallory\u202eevom', decision: 'reject', at: T0, via: 'signal', comment: '\x9b2J' },
    ],
    compensations: [],
    leftToUndo: [],
    settled: [],
  };
}

describe('text from outside is inert in every view', function () {
  it('strips escape sequences, control characters and bidi overrides; keeps line breaks only when asked', function () {
    assert.equal(inertText('a\x1b[31mred\x1b[0m\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ b'), 'aredlink b');
    assert.equal(inertText('one\r\ntwo\x7f\x85\x00\tthree'), 'one two three');
    assert.equal(inertText('one\ntwo\tthree', true), 'one\ntwo\tthree');
    assert.equal(inertText('\u202aabc\u202e\u2066d\u2069'), 'abcd');
    assert.equal(markdownText('[x](http://e) *b* `c` <img> a_b'), '\\[x\\](http://e) \\*b\\* \\`c\\` \\<img\\> a\\_b');
    assert.equal(markdownCode('run ``x`` now'), '```run ``x`` now```');
  });

  it("shows a refused approver's escape sequence and Markdown link as text, in status, history and the Web UI", () => {
    const p = attacked();
    const status = formatProgress('r1', p);
    const history = formatAuditTrail({ runId: 'r1', status: 'RUNNING', progress: p, events: [] }).join('\n');
    const watch = progressLines(p, { runId: 'r1', decide: 'cli', now: Date.parse(T0) })
      .map((l) => l.text)
      .join('\n');
    for (const view of [status, history, watch]) {
      assert.doesNotMatch(view, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, view);
      // The fake approval stays inside the refused record's line, never a line of its own.
      assert.match(view, /! REFUSED approve by · approved by bob at go-ahead at go-ahead .*not an approver/);
      assert.doesNotMatch(view, /^\s*· approved by bob/m);
    }
    const ui = progressMarkdown(p, { runId: 'r1', decide: 'ui' });
    assert.ok(ui.includes('REFUSED approve by \\[approved by bob\\](https://evil.example/)'), ui);
    assert.doesNotMatch(ui, /[^\\]\[approved by bob\]/);
    assert.doesNotMatch(ui, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
  });

  it("keeps a host's output as written inside a fence no line of it can close", function () {
    const p = attacked();
    const gate = {
      step: 'check',
      error: 'exit 1',
      skippable: false,
      outputTail: 'ok\n````\n[link](http://e)\n\x1b[2Kdone',
      openedAt: T0,
      deadline: T0,
      decisions: [],
    };
    p.failureGate = gate;
    p.failureGates = [gate];
    const ui = progressMarkdown(p, { runId: 'r1', decide: 'ui' });
    assert.ok(ui.includes('\n`````\nok\n````\n[link](http://e)\ndone\n`````'), ui);
    const status = formatProgress('r1', p);
    assert.match(status, /\| done$/m);
  });
});
