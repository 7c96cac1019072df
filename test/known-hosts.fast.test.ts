// known_hosts with OpenSSH's semantics: which lines name a host, checked against OpenSSH's own
// `ssh-keygen -F` on the same file, and the decision for a presented key (revoked, ok, changed,
// unknown) as ssh(1) makes it with StrictHostKeyChecking=yes.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decideHostKey,
  entriesFor,
  hostEntries,
  hostMatches,
  lookupName,
  matchPattern,
  parseKnownHosts,
  type KnownHostsLine,
} from '../activities/ssh/known-hosts';

/** A fresh ed25519 public key: "ssh-ed25519 AAAA...". */
function newKey(dir: string, name: string): string {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return fs.readFileSync(`${file}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
}

/** A known_hosts line naming `name`, hashed by ssh-keygen -H itself. */
function hashedLine(dir: string, name: string, key: string): string {
  const file = path.join(dir, `hash-${name.replace(/\W/g, '_')}`);
  fs.writeFileSync(file, `${name} ${key}\n`);
  execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
  return fs.readFileSync(file, 'utf8').trim();
}

/** The lines OpenSSH's `ssh-keygen -F name` reports, by number. */
function openSshMatches(file: string, name: string): number[] {
  let out = '';
  try {
    out = execFileSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  } catch (err) {
    if ((err as { status?: number }).status !== 1) throw err; // 1: no line names it
  }
  return [...out.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
}

function ourMatches(lines: readonly KnownHostsLine[], name: string): number[] {
  return lines.filter((l) => hostMatches(l.hosts, name)).map((l) => l.line);
}

const blob = (key: string) => Buffer.from(key.split(' ')[1], 'base64');

describe('known_hosts with OpenSSH semantics', function () {
  let dir: string;
  let web: string;
  let db: string;
  let compromised: string;
  let ca: string;
  let other: string;
  let file: string;
  let text: string;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'known-hosts-'));
    [web, db, compromised, ca, other] = ['web', 'db', 'compromised', 'ca', 'other'].map((n) => newKey(dir, n));
    text = [
      '# fleet keys',
      `web-*.example.com,!web-07.example.com ${web}`, // 2
      `db.example.com,10.0.0.20 ${db}`, // 3
      `@revoked * ${compromised}`, // 4
      `web-07.example.com ${compromised}`, // 5: listed, but revoked on line 4
      `[10.0.0.?]:2222 ${web}`, // 6
      `@cert-authority *.example.com,!*.dmz.example.com ${ca}`, // 7
      hashedLine(dir, 'secret.example.com', db), // 8
      hashedLine(dir, '[10.0.0.9]:2200', web), // 9
      `@revoked *.dmz.example.com ${other}`, // 10
      `DMZ-?.Example.com ${other}`, // 11: patterns compare in lower case
      '@bogus * ' + web, // 12: an unknown marker: skipped
      `web-x.example.com ssh-rsa ${web.split(' ')[1]}`, // 13: the blob is no RSA key: skipped
      '',
    ].join('\n');
    file = path.join(dir, 'known_hosts');
    fs.writeFileSync(file, text);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('matches `*` and `?` as OpenSSH does, without blowing up on many stars', function () {
    const cases: [string, string, boolean][] = [
      ['web-01.example.com', 'web-*.example.com', true],
      ['web-.example.com', 'web-*.example.com', true],
      ['web-01.example.org', 'web-*.example.com', false],
      ['10.0.0.5', '10.0.0.?', true],
      ['10.0.0.50', '10.0.0.?', false],
      ['anything', '*', true],
      ['', '*', true],
      ['abc', 'a*c*', true],
      ['[10.0.0.5]:2222', '[10.0.0.?]:2222', true],
    ];
    for (const [name, pattern, want] of cases) assert.equal(matchPattern(name, pattern), want, `${name} ~ ${pattern}`);
    assert.equal(matchPattern('a'.repeat(5000) + 'b', '*a*a*a*a*a*a*a*a*a*a*c'), false);
  });

  it('names the lines `ssh-keygen -F` names for each host (patterns, negation, ports, hashes, markers)', function () {
    const lines = parseKnownHosts(text);
    assert.deepEqual(
      lines.map((l) => l.line),
      [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
      'comments, an unknown marker and a mislabelled key are skipped',
    );
    const names = [
      'web-01.example.com',
      'web-07.example.com',
      'db.example.com',
      '10.0.0.20',
      '[10.0.0.5]:2222',
      '[10.0.0.50]:2222',
      '10.0.0.5',
      'secret.example.com',
      'other.example.com',
      '[10.0.0.9]:2200',
      '10.0.0.9',
      'dmz-1.example.com',
      'x.dmz.example.com',
      'unlisted.example.org',
    ];
    for (const name of names) assert.deepEqual(ourMatches(lines, name), openSshMatches(file, name), name);
    // The cases above are not vacuous: each form decides some host.
    assert.deepEqual(ourMatches(lines, 'web-07.example.com'), [4, 5, 7], 'negated on line 2');
    assert.deepEqual(ourMatches(lines, 'secret.example.com'), [4, 7, 8], 'hashed line 8');
    assert.deepEqual(ourMatches(lines, '[10.0.0.9]:2200'), [4, 9], 'hashed with a port');
    assert.deepEqual(ourMatches(lines, 'dmz-1.example.com'), [4, 7, 11], 'upper-case pattern');
  });

  it('looks hosts up as ssh does: "[host]:port" off port 22, in lower case', function () {
    assert.equal(lookupName('Web-01.Example.com', 22), 'web-01.example.com');
    assert.equal(lookupName('10.0.0.5', 2222), '[10.0.0.5]:2222');
    assert.deepEqual(hostEntries(file, '10.0.0.5', 2222).keys, [blob(web)]);
    assert.deepEqual(hostEntries(file, '10.0.0.5', 22).keys, []);
    assert.deepEqual(hostEntries(file, 'SECRET.example.com', 22).keys, [blob(db)]);
  });

  it('decides as ssh does: a revoked key is refused even where another line lists it', function () {
    const lines = parseKnownHosts(text);
    const decide = (name: string, key: string) => decideHostKey(entriesFor(lines, name), blob(key));
    assert.equal(decide('web-01.example.com', web), 'ok');
    assert.equal(decide('web-01.example.com', db), 'changed', 'another key than the listed one');
    assert.equal(decide('web-07.example.com', compromised), 'revoked', 'listed on line 5, revoked on line 4');
    assert.equal(decide('web-07.example.com', web), 'changed', 'line 2 excludes web-07; line 5 lists another key');
    assert.equal(decide('unlisted.example.org', compromised), 'revoked', 'revoked for every host (`*`)');
    assert.equal(decide('unlisted.example.org', web), 'unknown');
    assert.equal(decide('dmz-1.example.com', other), 'ok', 'line 10 revokes it only for *.dmz.example.com');
    assert.equal(decide('x.dmz.example.com', other), 'revoked');
    assert.equal(
      decide('other.example.com', ca),
      'unknown',
      '@cert-authority vouches for certificates, not a plain key',
    );
    assert.deepEqual(entriesFor(lines, 'other.example.com').authorities, [blob(ca)]);
    assert.deepEqual(entriesFor(lines, 'x.dmz.example.com').authorities, [], 'negated on line 7');
  });
});
