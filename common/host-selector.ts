// Which hosts a `--hosts` selector names, as an ops team writes it (Ansible's patterns): terms
// separated by `,` or `:`, each a host name, a group name, `role:<role>` or a glob (`web-*`,
// `web-?`), and `!term` taking a term's hosts out: `web:!web-07` is the group (or role) web
// without web-07. One function for the CLI's check and the worker's `selectHosts`; the selector
// is only ever read here, never given to a shell.
import { isRole, ROLE_NAMES } from './roles';

/** The part of an environment a selector is read against. */
export interface SelectorInventory {
  hosts: Record<string, { roles: readonly string[] }>;
  groups?: Record<string, { hosts?: readonly string[]; children?: readonly string[] }>;
}

/** A selector that names something the inventory does not have, or selects no host. */
export class SelectorError extends Error {}

/** The terms of a selector, in order: `role:` keeps its colon, any other `:` separates. */
export function selectorTerms(selector: string): { exclude: boolean; term: string }[] {
  const words = selector.split(/[,:]/);
  const terms: { exclude: boolean; term: string }[] = [];
  for (let i = 0; i < words.length; i++) {
    let word = words[i];
    if ((word === 'role' || word === '!role') && i + 1 < words.length) word = `${word}:${words[++i]}`;
    const exclude = word.startsWith('!');
    const term = exclude ? word.slice(1) : word;
    if (!term) throw new SelectorError(`${JSON.stringify(selector)} has an empty term`);
    terms.push({ exclude, term });
  }
  return terms;
}

/** The hosts of a group and of its children's, in inventory order (cycles were refused when it was read). */
export function groupHosts(inv: SelectorInventory, group: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  const g = inv.groups?.[group];
  if (!g || seen.has(group)) return out;
  seen.add(group);
  for (const h of g.hosts ?? []) out.add(h);
  for (const child of g.children ?? []) for (const h of groupHosts(inv, child, seen)) out.add(h);
  return new Set(Object.keys(inv.hosts).filter((h) => out.has(h)));
}

function globRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

const listed = (names: string[]) =>
  names.length > 20 ? `${names.slice(0, 20).join(', ')} and ${names.length - 20} more` : names.join(', ') || 'none';

/** The hosts one term names, in inventory order. */
function termHosts(inv: SelectorInventory, term: string): string[] {
  const all = Object.keys(inv.hosts);
  if (term.startsWith('role:')) {
    const role = term.slice(5);
    if (!isRole(role)) throw new SelectorError(`no role ${JSON.stringify(role)} (roles: ${ROLE_NAMES.join(', ')})`);
    return all.filter((h) => inv.hosts[h].roles.includes(role));
  }
  if (/[*?]/.test(term)) {
    const re = globRegExp(term);
    const hosts = all.filter((h) => re.test(h));
    if (!hosts.length) throw new SelectorError(`${term} matches no host (hosts: ${listed(all)})`);
    return hosts;
  }
  if (term in inv.hosts) return [term];
  if (inv.groups && term in inv.groups) return [...groupHosts(inv, term)];
  if (isRole(term)) return all.filter((h) => inv.hosts[h].roles.includes(term));
  throw new SelectorError(
    `no host, group or role ${JSON.stringify(term)} ` +
      `(hosts: ${listed(all)}; groups: ${listed(Object.keys(inv.groups ?? {}))}; roles: ${ROLE_NAMES.join(', ')})`,
  );
}

/**
 * The hosts `selector` names: every term's hosts, in the order of the terms (each term's in
 * inventory order), without those of its `!` terms. An unknown name, or no host left, is a
 * SelectorError saying what there is.
 */
export function selectHostNames(inv: SelectorInventory, selector: string): string[] {
  const included: string[] = [];
  const excluded = new Set<string>();
  for (const { exclude, term } of selectorTerms(selector)) {
    const hosts = termHosts(inv, term);
    if (exclude) for (const h of hosts) excluded.add(h);
    else for (const h of hosts) if (!included.includes(h)) included.push(h);
  }
  const hosts = included.filter((h) => !excluded.has(h));
  if (!hosts.length) throw new SelectorError(`${selector} selects no host`);
  return hosts;
}
