// Variants of the test bed's inventory (inventory/local.yaml) under another environment name,
// e.g. with an alert webhook or a broken service command, written to a temporary directory
// searched before the others for the rest of the suite.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { projectRoot } from '../src/config';
import type { Environment } from '../src/inventory';

export interface BedInventory {
  remove(): void;
}

export function bedInventory(name: string, change: (env: Environment) => void): BedInventory {
  return bedInventoryFrom(path.join(projectRoot, 'inventory', 'local.yaml'), name, change);
}

/** The test bed's inventory as a document, renamed and changed: the base of a signed one (test/identity-keys.ts). */
export function bedEnvironment(name: string, change: (env: Environment) => void = () => undefined): Environment {
  const env = parseYaml(fs.readFileSync(path.join(projectRoot, 'inventory', 'local.yaml'), 'utf8')) as Environment;
  env.environment = name;
  change(env);
  return env;
}

/** The same from another inventory file (e.g. the fleet's, which `testbed up --web N` writes). */
export function bedInventoryFrom(file: string, name: string, change: (env: Environment) => void): BedInventory {
  const env = parseYaml(fs.readFileSync(file, 'utf8')) as Environment;
  env.environment = name;
  change(env);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inventory-'));
  fs.writeFileSync(path.join(dir, `${name}.yaml`), stringifyYaml(env));
  const previous = process.env.RUNBOOK_INVENTORY_DIR;
  process.env.RUNBOOK_INVENTORY_DIR = [dir, previous].filter(Boolean).join(':');
  return {
    remove: () => {
      process.env.RUNBOOK_INVENTORY_DIR = previous;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
