// The approval webhook's notice tells approvers how to decide the way the run takes decisions:
// in a signed run, typed JSON from the Web UI would be refused, so it names `runbook sign`.
import { strict as assert } from 'node:assert';
import { gateNoticeBody, type GateNotice } from '../activities/notify';

const notice: GateNotice = {
  env: 'prod',
  runId: 'deploy-prod-20261202T130000Z-abcd',
  runbook: 'deploy',
  initiator: 'alice',
  gate: 'switch traffic',
  required: 1,
  approvers: ['bob', 'carol'],
  deadline: '2026-12-02T13:30:00.000Z',
};

describe('approval notices', function () {
  it('in a signed run, send the output of `runbook sign approve` from the Web UI, not typed JSON', function () {
    const body = gateNoticeBody({ ...notice, identity: 'signed' });
    const how = body.howToApprove as { cli: string; webUi: { signal: string; input: unknown; signed: string } };
    assert.equal(how.cli, `runbook approve ${notice.runId} --as <approver> [--comment ...]`);
    assert.equal(how.webUi.signal, 'approval');
    assert.equal(
      how.webUi.input,
      `the output of \`runbook sign approve ${notice.runId} --as <approver> [--comment ...]\``,
    );
    assert.match(how.webUi.signed, /unsigned JSON is recorded as refused/);
    assert.ok(!JSON.stringify(body).includes('"decision"'), 'no typed decision to copy');
  });

  it('in a typed run (and from runs recorded before), the JSON to type in the Web UI', function () {
    for (const identity of ['typed', undefined] as const) {
      const body = gateNoticeBody({ ...notice, ...(identity ? { identity } : {}) });
      assert.equal(body.event, 'approval_requested');
      assert.equal(body.gate, 'switch traffic');
      assert.deepEqual((body.howToApprove as { webUi: unknown }).webUi, {
        signal: 'approval',
        input: { approver: '<approver>', decision: 'approve', comment: '...' },
      });
    }
  });
});
