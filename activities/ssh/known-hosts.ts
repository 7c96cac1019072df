// Host key checking against a known_hosts file with OpenSSH's semantics (sshd(8), "SSH_KNOWN_HOSTS
// FILE FORMAT"; hostfile.c and match.c): comma-separated patterns with `*` and `?`, `!` negation,
// "[host]:port" for other ports, hashed names, and the `@revoked` and `@cert-authority` markers.
// An unknown, changed or revoked key refuses the connection, as with StrictHostKeyChecking=yes.
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';

export type Marker = 'revoked' | 'cert-authority';

export interface KnownHostsLine {
  /** 1-based, as `ssh-keygen -F` numbers them. */
  line: number;
  marker?: Marker;
  /** The host field as written: patterns, or one hashed name. */
  hosts: string;
  keyType: string;
  /** The key blob (its wire format), compared whole. */
  key: Buffer;
}

/** A file larger than this is refused rather than read: known_hosts files are kilobytes. */
export const MAX_KNOWN_HOSTS_BYTES = 16 * 1024 * 1024;

/** The key type a blob names (its first string), or '' when it is not a key blob. */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  return len > 0 && len <= 64 && 4 + len <= blob.length ? blob.subarray(4, 4 + len).toString('latin1') : '';
}

/**
 * The file's usable lines. Comments, blank lines and malformed lines (an unknown marker, no key,
 * a key whose blob does not name the type written beside it) are skipped, as OpenSSH skips them.
 */
export function parseKnownHosts(text: string): KnownHostsLine[] {
  const out: KnownHostsLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/[ \t]+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    let marker: Marker | undefined;
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!.toLowerCase();
      if (m !== '@revoked' && m !== '@cert-authority') return;
      marker = m.slice(1) as Marker;
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    const key = Buffer.from(b64, 'base64');
    if (blobKeyType(key) !== keyType) return;
    out.push({ line: i + 1, ...(marker ? { marker } : {}), hosts, keyType, key });
  });
  return out;
}

/** The name a host is looked up by: "host" on port 22, "[host]:port" on others; lower case, as ssh does. */
export function lookupName(address: string, port: number): string {
  const host = address.toLowerCase();
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH's match_pattern: `*` any run of characters, `?` any one; without backtracking blow-up. */
export function matchPattern(name: string, pattern: string): boolean {
  let n = 0;
  let p = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      n++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * Whether a line's host field names `name` (OpenSSH's match_maybe_hashed): a hashed field is one
 * name, HMAC-SHA1 keyed by its salt; a plain field is a pattern list, which names the host when a
 * pattern matches and no negated (`!`) pattern does. A negated match only excludes this line.
 */
export function hostMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|')) {
    const [, magic, salt, hash, extra] = hosts.split('|');
    if (magic !== '1' || !salt || !hash || extra !== undefined) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let positive = false;
  for (const raw of hosts.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!matchPattern(name, pattern)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** What the file says of one host: its keys, the authorities that may sign its certificates, and revoked keys. */
export interface HostEntries {
  keys: Buffer[];
  authorities: Buffer[];
  revoked: Buffer[];
}

export function entriesFor(lines: readonly KnownHostsLine[], name: string): HostEntries {
  const found: HostEntries = { keys: [], authorities: [], revoked: [] };
  for (const l of lines) {
    if (!hostMatches(l.hosts, name)) continue;
    (l.marker === 'revoked' ? found.revoked : l.marker === 'cert-authority' ? found.authorities : found.keys).push(
      l.key,
    );
  }
  return found;
}

/**
 * OpenSSH's decision for a plain (non-certificate) host key: `revoked` when a `@revoked` line for
 * this host lists it, whatever other lines say; `ok` when a plain line lists it; `changed` when
 * plain lines list other keys for the host; `unknown` otherwise. `@cert-authority` lines vouch for
 * certificates only, never for a plain key.
 */
export type HostKeyDecision = 'ok' | 'revoked' | 'changed' | 'unknown';

export function decideHostKey(entries: HostEntries, presented: Buffer): HostKeyDecision {
  if (entries.revoked.some((k) => k.equals(presented))) return 'revoked';
  if (entries.keys.some((k) => k.equals(presented))) return 'ok';
  return entries.keys.length ? 'changed' : 'unknown';
}

const cache = new Map<string, { mtimeMs: number; size: number; lines: KnownHostsLine[] }>();

/** The file's lines, parsed once per change. */
export function readKnownHosts(file: string): KnownHostsLine[] {
  const { mtimeMs, size } = fs.statSync(file);
  if (size > MAX_KNOWN_HOSTS_BYTES) throw new Error(`${file} is larger than ${MAX_KNOWN_HOSTS_BYTES} bytes`);
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === mtimeMs && cached.size === size) return cached.lines;
  const lines = parseKnownHosts(fs.readFileSync(file, 'utf8'));
  cache.set(file, { mtimeMs, size, lines });
  return lines;
}

/** What `file` says of `address:port`. */
export function hostEntries(file: string, address: string, port: number): HostEntries {
  return entriesFor(readKnownHosts(file), lookupName(address, port));
}
