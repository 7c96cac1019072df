// The SCRAM-SHA-256 verifier rotate-db-password gives PostgreSQL, checked the way a server checks
// a login: against the exchange of RFC 7677's example (user "user", password "pencil").
import { strict as assert } from 'node:assert';
import { createHash, createHmac } from 'node:crypto';
import { DATABASE_PASSWORD, scramKeys, scramVerifier } from '../activities/scram';

const SALT = 'W22ZaJ0SNY7soEsUEjb6gQ==';
const NONCE = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const AUTH_MESSAGE = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${NONCE},s=${SALT},i=4096,c=biws,r=${NONCE}`;
const CLIENT_PROOF = 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_SIGNATURE = '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

describe('SCRAM-SHA-256 verifiers (rotate-db-password)', function () {
  const keys = scramKeys('pencil', Buffer.from(SALT, 'base64'));

  it("accepts RFC 7677's client proof as a server does: H(proof XOR HMAC(StoredKey, msg)) = StoredKey", function () {
    const signature = createHmac('sha256', keys.storedKey).update(AUTH_MESSAGE).digest();
    const proof = Buffer.from(CLIENT_PROOF, 'base64');
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]));
    assert.deepEqual(createHash('sha256').update(clientKey).digest(), keys.storedKey);
  });

  it("signs as RFC 7677's server does: HMAC(ServerKey, AuthMessage)", function () {
    const signature = createHmac('sha256', keys.serverKey).update(AUTH_MESSAGE).digest('base64');
    assert.equal(signature, SERVER_SIGNATURE);
  });

  it('is written as pg_authid holds it, with a fresh salt each time', function () {
    const a = scramVerifier('correct-horse-battery-staple');
    const b = scramVerifier('correct-horse-battery-staple');
    assert.match(a, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(a, b);
  });

  it('takes printable ASCII passwords of 16 to 200 characters, without spaces', function () {
    for (const ok of ['a'.repeat(16), `p@ss:w/rd%'"!~${'x'.repeat(10)}`, 'z'.repeat(200)])
      assert.ok(DATABASE_PASSWORD.test(ok), ok);
    for (const bad of [
      'short',
      'a'.repeat(15),
      'a'.repeat(201),
      `with space ${'x'.repeat(10)}`,
      `é${'x'.repeat(20)}`,
      `nl\n${'x'.repeat(20)}`,
    ])
      assert.ok(!DATABASE_PASSWORD.test(bad), JSON.stringify(bad));
  });
});
