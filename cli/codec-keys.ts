// `runbook codec-keys [--create] [--rotate]`: which key ring the CLI and worker use, its key ids
// and the active one (never the keys); --create makes the ring RUNBOOK_CODEC_KEYS names if there
// is none (for a team's first worker host; copy it to the others and to operators); --rotate adds
// a new key and makes it active. Old keys stay, so runs sealed under them stay readable; workers
// and codec servers pick the new key up when they restart (until then they keep sealing under the
// old one, which is still valid).
import * as fs from 'node:fs';
import { UsageError } from '../src/errors';
import {
  AUTO_KEYS,
  createKeysFile,
  defaultKeysFile,
  KeyRingError,
  loadKeyRing,
  noKeyRingMessage,
  readKeyRing,
  rotateKeysFile,
} from '../src/codec/keys';
import { parse } from './args';
import { printJson } from './output';
import type { Command } from './commands';

export const codecKeys: Command = async (args) => {
  const { values, positionals } = parse(args, { rotate: { type: 'boolean' }, create: { type: 'boolean' } });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const configured = process.env.RUNBOOK_CODEC_KEYS;
  if (!configured && process.env[AUTO_KEYS] !== '1') throw new KeyRingError(noKeyRingMessage());
  const file = configured || defaultKeysFile();
  const created = values.create ? createKeysFile(file) : false;
  loadKeyRing(); // validates it, and makes the local dev server's default on first use
  if (values.rotate) {
    if (!fs.existsSync(file)) throw new UsageError(`no keys file at ${file}`);
    rotateKeysFile(file);
  }
  const ring = readKeyRing(file);
  const ids = [...ring.keys.keys()];
  if (values.json) printJson({ file, active: ring.activeKeyId, keys: ids, created, rotated: Boolean(values.rotate) });
  else {
    console.log(
      `${file}${created ? ' (made now)' : ''}: ${ids.length} key(s), active ${ring.activeKeyId}` +
        `${values.rotate ? ' (new)' : ''}`,
    );
    for (const id of ids)
      console.log(`  ${id}${id === ring.activeKeyId ? '  (encrypts new payloads)' : '  (decrypts only)'}`);
  }
  return 0;
};
