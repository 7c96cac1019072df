// What makes an obtained certificate fit to serve, and what a certbot failure means. Pure
// functions of PEM text and output, so they are unit-tested without hosts or an ACME server.
import { X509Certificate, createPublicKey } from 'node:crypto';

export interface CertificateFacts {
  fingerprint: string;
  subject: string;
  issuer: string;
  /** DNS names of the subjectAltName. */
  names: string[];
  notBefore: string;
  notAfter: string;
  serial: string;
}

export function facts(cert: X509Certificate): CertificateFacts {
  return {
    fingerprint: cert.fingerprint256,
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    names: dnsNames(cert),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    serial: cert.serialNumber,
  };
}

function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4).toLowerCase());
}

/** The certificates of a PEM bundle, leaf first; throws on anything that is not one. */
export function parseChain(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new Error('no certificate in the file');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`certificate ${i + 1} of the chain does not parse: ${(err as Error).message}`);
    }
  });
}

function covers(names: string[], domain: string): boolean {
  const d = domain.toLowerCase();
  return names.some(
    (n) => n === d || (n.startsWith('*.') && d.endsWith(n.slice(1)) && !d.slice(0, -n.length + 1).includes('.')),
  );
}

export interface CheckInput {
  /** fullchain.pem as certbot wrote it. */
  fullchain: string;
  /** The public key of privkey.pem (`openssl pkey -pubout`): the private key never leaves its host. */
  keyPublicPem: string;
  domain: string;
  /** The certificate served now: the new one must differ from it. */
  servedFingerprint?: string;
  now: Date;
}

/**
 * Checks a certificate before it is installed: it names the domain, its chain links up (each
 * certificate signed by the next), its dates hold now, it matches its private key, and it is
 * not the one already served. Returns its facts; throws with every problem found.
 */
export function checkCertificate(input: CheckInput): CertificateFacts {
  const chain = parseChain(input.fullchain);
  const [leaf] = chain;
  const problems: string[] = [];
  const names = dnsNames(leaf);
  if (!covers(names, input.domain)) problems.push(`it is for ${names.join(', ') || leaf.subject}, not ${input.domain}`);
  if (chain.length < 2) problems.push('the chain has no intermediate certificate');
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) {
      problems.push(`certificate ${i + 1} of the chain is not signed by certificate ${i + 2}`);
    }
  }
  const from = new Date(leaf.validFrom);
  const to = new Date(leaf.validTo);
  if (from > input.now) problems.push(`it is not valid before ${from.toISOString()}`);
  if (to <= input.now) problems.push(`it expired at ${to.toISOString()}`);
  let keyMatches = false;
  try {
    keyMatches = createPublicKey(input.keyPublicPem)
      .export({ format: 'der', type: 'spki' })
      .equals(leaf.publicKey.export({ format: 'der', type: 'spki' }));
  } catch {
    problems.push('its private key does not parse');
  }
  if (!keyMatches && !problems.includes('its private key does not parse'))
    problems.push('it does not match its private key');
  if (input.servedFingerprint && leaf.fingerprint256 === input.servedFingerprint)
    problems.push('it is the certificate already served, not a new one');
  if (problems.length) throw new Error(`the new certificate for ${input.domain} is unfit: ${problems.join('; ')}`);
  return facts(leaf);
}

export type CertbotFailure = { kind: 'rate-limited'; retryAfter?: string } | { kind: 'other' };

const RATE_LIMITED = new RegExp(
  [
    'urn:ietf:params:acme:error:rateLimited',
    'too many (?:certificates|requests|failed authori[sz]ations|new orders|registrations|pending authori[sz]ations)',
    'rate[- ]?limit',
  ].join('|'),
  'i',
);

/**
 * ACME rate limits (Let's Encrypt: 5 duplicate certificates a week, failed validations an hour)
 * are not lifted by asking again soon: every retry counts against the limit.
 */
export function classifyCertbotFailure(output: string): CertbotFailure {
  if (!RATE_LIMITED.test(output)) return { kind: 'other' };
  const after = /retry after ([0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:]{8}(?: ?UTC|Z)?)/i.exec(output)?.[1];
  return { kind: 'rate-limited', ...(after ? { retryAfter: after } : {}) };
}
