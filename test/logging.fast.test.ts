// The worker's log lines (worker/logging.ts): one JSON object per line, secrets redacted in every
// field and form, the run's id as `runbook status` takes it, and RUNBOOK_LOG_LEVEL checked.
import { strict as assert } from 'node:assert';
import { CapturedLines, JsonLogger, logLevel } from '../worker/logging';

const SECRET = 's3cr3t-p4ss/word+x';

describe("the worker's log lines", function () {
  it('are JSON objects, one a line, with level, time and message', function () {
    const out = new CapturedLines();
    const logger = new JsonLogger('INFO', out, () => []);
    logger.info('run started', { runbook: 'deploy', env: 'prod' });
    logger.warn('step ended', { step: 'switch', attempt: 2, n: 5n });
    const [a, b] = out.lines();
    assert.equal(out.text.join('').split('\n').filter(Boolean).length, 2);
    assert.deepEqual([a.level, a.msg, a.runbook, a.env], ['info', 'run started', 'deploy', 'prod']);
    assert.ok(!Number.isNaN(Date.parse(String(a.time))));
    assert.deepEqual([b.level, b.attempt, b.n], ['warn', 2, '5']);
  });

  it('redact every resolved secret, in messages, nested fields and errors, in its encoded forms too', function () {
    const out = new CapturedLines();
    const logger = new JsonLogger('DEBUG', out, () => [SECRET]);
    const cause = new Error(`psql: password ${encodeURIComponent(SECRET)} refused`);
    logger.error(`failed with ${SECRET}`, {
      detail: { url: `postgresql://app:${encodeURIComponent(SECRET)}@db/app`, list: [SECRET] },
      error: new Error('step failed', { cause }),
      b64: Buffer.from(SECRET).toString('base64'),
    });
    const text = out.text.join('');
    assert.ok(!text.includes(SECRET) && !text.includes(encodeURIComponent(SECRET)), text);
    assert.ok(!text.includes(Buffer.from(SECRET).toString('base64')), text);
    const [line] = out.lines();
    assert.equal(line.msg, 'failed with [redacted]');
    assert.deepEqual(line.error, { type: 'Error', message: 'step failed: psql: password [redacted] refused' });
  });

  it("name the run by its id; the SDK's execution id is kept as temporalRunId", function () {
    const out = new CapturedLines();
    const logger = new JsonLogger('INFO', out, () => []);
    logger.info('step started', { sdkComponent: 'workflow', workflowId: 'deploy-prod-x', runId: 'a1b2' });
    const [line] = out.lines();
    assert.deepEqual([line.runId, line.temporalRunId], ['deploy-prod-x', 'a1b2']);
  });

  it('leave out what is below RUNBOOK_LOG_LEVEL, which must be a level', function () {
    assert.equal(logLevel({}), 'INFO');
    assert.equal(logLevel({ RUNBOOK_LOG_LEVEL: 'debug' }), 'DEBUG');
    assert.throws(() => logLevel({ RUNBOOK_LOG_LEVEL: 'LOUD' }), /RUNBOOK_LOG_LEVEL="LOUD": want one of TRACE, DEBUG/);
    const out = new CapturedLines();
    const logger = new JsonLogger(logLevel({ RUNBOOK_LOG_LEVEL: 'WARN' }), out, () => []);
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    assert.deepEqual(
      out.lines().map((l) => l.msg),
      ['w', 'e'],
    );
  });
});
