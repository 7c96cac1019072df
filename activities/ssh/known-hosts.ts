// Host key checking against a known_hosts file, as OpenSSH does it: plain or hashed host
// patterns, "[host]:port" for other ports. An unknown or different key refuses the connection.
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';

interface Entry {
  hosts: string;
  keyType: string;
  key: Buffer;
}

const cache = new Map<string, { mtimeMs: number; entries: Entry[] }>();

function entries(file: string): Entry[] {
  const { mtimeMs } = fs.statSync(file);
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.entries;
  const parsed: Entry[] = [];
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    if (fields[0].startsWith('@')) continue; // @cert-authority / @revoked: not used here
    const [hosts, keyType, key] = fields;
    if (hosts && keyType && key) parsed.push({ hosts, keyType, key: Buffer.from(key, 'base64') });
  }
  cache.set(file, { mtimeMs, entries: parsed });
  return parsed;
}

function hostMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return pattern.split(',').includes(name);
}

/** The known keys for `address:port`; empty when the host is unknown. */
export function knownKeys(file: string, address: string, port: number): Buffer[] {
  const name = port === 22 ? address : `[${address}]:${port}`;
  return entries(file)
    .filter((e) => hostMatches(e.hosts, name))
    .map((e) => e.key);
}

export function verifyHostKey(file: string, address: string, port: number, presented: Buffer): boolean {
  return knownKeys(file, address, port).some((k) => k.equals(presented));
}
