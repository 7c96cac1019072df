// The people who may start runs and decide at gates, with their SSH public keys, read from
// people.yaml in the inventory directories (the first directory naming a person wins). A signed
// environment takes a decision only when one of its person's keys signed it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { inventoryDirs } from '../config';

export interface Person {
  name: string;
  /** `TYPE BASE64` (the comment dropped), as allowed_signers and `ssh-add -L` write them. */
  keys: string[];
}

export const PEOPLE_FILE = 'people.yaml';
/** Names as `--as` takes them; no `*`, `?`, `,` or `!`, which allowed_signers reads as patterns. */
export const PERSON_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
const KEY_TYPES = [
  'ssh-ed25519',
  'sk-ssh-ed25519@openssh.com',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-rsa',
];
const TYPES = KEY_TYPES.map((t) => t.replace(/[.]/g, '\\.')).join('|');
const KEY = new RegExp(`^(${TYPES}) [A-Za-z0-9+/]{20,1400}={0,2}( [^\\n]{0,200})?$`);

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['people'],
  properties: {
    people: {
      type: 'object',
      propertyNames: { pattern: PERSON_NAME.source },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['keys'],
        properties: {
          keys: { type: 'array', minItems: 1, maxItems: 20, items: { type: 'string', pattern: KEY.source } },
        },
      },
    },
  },
};
const validate = new Ajv({ allErrors: true }).compile(schema);

export class PeopleError extends Error {}

// Read on every check (it is small), parsed again only when it changed: a removed key stops working at once.
const parsed = new Map<string, { text: string; people: Map<string, Person> }>();

/** Everyone in the inventory; empty when no directory has a people.yaml. */
export function loadPeople(dirs = inventoryDirs()): Map<string, Person> {
  const all = new Map<string, Person>();
  const owner = new Map<string, string>();
  for (const dir of dirs) {
    const file = path.join(dir, PEOPLE_FILE);
    if (!fs.existsSync(file)) continue;
    for (const person of readPeopleFile(file).values()) {
      if (all.has(person.name)) continue;
      for (const key of person.keys) {
        const other = owner.get(key);
        // Four eyes counts keys: a key shared by two names would let one person be two.
        if (other) {
          throw new PeopleError(`${file}: ${person.name} and ${other} share a key; each key belongs to one person`);
        }
        owner.set(key, person.name);
      }
      all.set(person.name, person);
    }
  }
  return all;
}

function readPeopleFile(file: string): Map<string, Person> {
  const text = fs.readFileSync(file, 'utf8');
  const cached = parsed.get(file);
  if (cached && cached.text === text) return cached.people;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PeopleError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!validate(doc)) {
    const at = (e: { instancePath: string }) => e.instancePath.slice(1).replace(/\//g, '.') || '(top level)';
    const first = (validate.errors ?? []).slice(0, 3).map((e) => `${at(e)}: ${e.message}`);
    throw new PeopleError(`${file}: ${first.join('; ')} (a key is one line of a .pub file: TYPE BASE64 [comment])`);
  }
  const people = new Map<string, Person>();
  for (const [name, { keys }] of Object.entries((doc as { people: Record<string, { keys: string[] }> }).people)) {
    people.set(name, { name, keys: [...new Set(keys.map((k) => k.split(' ').slice(0, 2).join(' ')))] });
  }
  parsed.set(file, { text, people });
  return people;
}

/** Lines of an allowed_signers file (ssh-keygen(1), ALLOWED SIGNERS) for one person. */
export function allowedSigners(person: Person): string {
  return person.keys.map((k) => `${person.name} ${k}\n`).join('');
}
