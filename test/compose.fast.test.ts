// docker-compose.temporal.yml, checked statically (no Docker engine runs here), and with
// `docker compose config` where that tool exists.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../src/config';
import { SEARCH_ATTRIBUTES } from '../common/shared';

const file = path.join(projectRoot, 'docker-compose.temporal.yml');

interface Service {
  image: string;
  entrypoint?: string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  healthcheck?: unknown;
  command?: string[];
}

describe('docker-compose.temporal.yml', function () {
  const compose = parse(fs.readFileSync(file, 'utf8')) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };
  const { services } = compose;

  it('has the server on PostgreSQL, its schema setup, the Web UI and the admin tools', function () {
    assert.deepEqual(Object.keys(services).sort(), [
      'postgresql',
      'temporal',
      'temporal-admin-tools',
      'temporal-schema',
      'temporal-ui',
    ]);
    assert.match(services.postgresql.image, /^postgres:\d+/);
    assert.equal(services.temporal.environment?.TEMPORAL_DB_HOST, 'postgresql');
    assert.match(services['temporal-ui'].image, /^temporalio\/ui:/);
    assert.equal(services['temporal-ui'].environment?.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.ok('temporal-postgresql' in compose.volumes, 'the database outlives its container');
  });

  it('runs the versions, server config and schema setup of `npm run cluster` and the cluster tests', function () {
    const pinned = fs.readFileSync(path.join(projectRoot, 'scripts', 'cluster', 'common.sh'), 'utf8');
    const version = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(pinned)?.[1];
    assert.equal(services.temporal.image, `temporalio/server:${version('TEMPORAL_SERVER_VERSION')}`);
    assert.equal(services['temporal-ui'].image, `temporalio/ui:${version('TEMPORAL_UI_VERSION')}`);
    // The cluster's own server (cluster/server, with our authorizer) is built against the same module.
    const goMod = fs.readFileSync(path.join(projectRoot, 'cluster', 'server', 'go.mod'), 'utf8');
    assert.match(goMod, new RegExp(`^\\s*go\\.temporal\\.io/server v${version('TEMPORAL_SERVER_VERSION')}$`, 'm'));
    assert.ok(services.temporal.volumes?.includes('./cluster/temporal.yaml:/etc/temporal/runbook/temporal.yaml:ro'));
    assert.deepEqual(services.temporal.entrypoint?.slice(0, 7), [
      'temporal-server',
      '--root',
      '/etc/temporal',
      '--config',
      'runbook',
      '--env',
      'temporal',
    ]);
    assert.deepEqual(services['temporal-schema'].volumes, [
      './cluster/setup-schema.sh:/etc/temporal/setup-schema.sh:ro',
    ]);
    assert.deepEqual(services['temporal-schema'].entrypoint, ['sh', '/etc/temporal/setup-schema.sh']);
    // The server's config reads these; the compose file sets each.
    const config = fs.readFileSync(path.join(projectRoot, 'cluster', 'temporal.yaml'), 'utf8');
    for (const v of ['TEMPORAL_DB_HOST', 'TEMPORAL_DB_PASSWORD', 'TEMPORAL_BIND_IP', 'TEMPORAL_DYNAMIC_CONFIG']) {
      assert.match(config, new RegExp(`env "${v}"`));
      assert.ok(services.temporal.environment?.[v], `${v} is set for the server`);
    }
  });

  it('publishes the frontend on 7233 and the UI on 8233 (the CLI and docs say so), loopback only', function () {
    // Neither has authentication of its own: reachable from this machine, not from the network.
    assert.deepEqual(services.temporal.ports, ['127.0.0.1:7233:7233']);
    assert.deepEqual(services['temporal-ui'].ports, ['127.0.0.1:8233:8080']);
    assert.equal(services.postgresql.ports, undefined, 'the database is not published to the host');
  });

  it('starts each service only once what it needs is healthy', function () {
    assert.deepEqual(services.temporal.depends_on, {
      postgresql: { condition: 'service_healthy' },
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    assert.deepEqual(services['temporal-schema'].depends_on, { postgresql: { condition: 'service_healthy' } });
    assert.deepEqual(services['temporal-ui'].depends_on, { temporal: { condition: 'service_healthy' } });
    assert.deepEqual(services['temporal-admin-tools'].depends_on, { temporal: { condition: 'service_healthy' } });
    assert.ok(services.postgresql.healthcheck && services.temporal.healthcheck);
  });

  it('gives the server the dynamic config runbooks need (transfer-queue rate, eager activities)', function () {
    const temporal = services.temporal;
    assert.ok(
      temporal.volumes?.includes('./temporal-dynamic-config.yaml:/etc/temporal/config/dynamicconfig/runbook.yaml:ro'),
    );
    assert.equal(temporal.environment?.TEMPORAL_DYNAMIC_CONFIG, '/etc/temporal/config/dynamicconfig/runbook.yaml');
    const dynamic = parse(fs.readFileSync(path.join(projectRoot, 'temporal-dynamic-config.yaml'), 'utf8')) as Record<
      string,
      { value: unknown }[]
    >;
    assert.ok(Number(dynamic['history.transferProcessorMaxPollRPS'][0].value) >= 1000);
    assert.equal(dynamic['system.enableActivityEagerExecution'][0].value, true);
  });

  it('registers every search attribute the runbooks set', function () {
    const script = (services['temporal-admin-tools'].command ?? []).join(' ');
    for (const key of SEARCH_ATTRIBUTES) assert.match(script, new RegExp(`\\b${key.name}\\b`));
    assert.match(script, /--type Keyword/);
  });

  it('is valid for docker-compose (installed by .ci/run)', function () {
    const checked = spawnSync('docker-compose', ['-f', file, 'config', '--quiet'], { encoding: 'utf8' });
    assert.equal(
      checked.error,
      undefined,
      'docker-compose is not installed: .ci/run installs it (apt-get install docker-compose)',
    );
    assert.equal(checked.status, 0, checked.stderr);
  });
});
