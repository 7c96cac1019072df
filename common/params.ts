// A runbook's parameters, declared once: type, default, bounds and description. The CLI's
// options and help, the worker's validation, the dry run, the docs and the workflow's input
// type all read the declaration. Imported by workflow code (defaults, types): no Node
// built-ins, no I/O.
import { DURATION, formatDuration, MAX_DURATION_MS, parseDuration } from './duration';

/** The longest text value anything accepts: a git ref, a backup name, a duration. */
export const MAX_PARAM_LENGTH = 1000;

interface ParamBase {
  description: string;
  /** Refused when missing. A parameter with a default is never required. */
  required?: boolean;
}

/** Text of a given shape. `shape` says in words what the pattern accepts. */
export interface StringParam extends ParamBase {
  type: 'string';
  pattern?: RegExp;
  shape?: string;
  default?: string;
}

/** A duration as operators type it (`10m`, `1h30m`, `30d`): longer than zero, at most `max`. */
export interface DurationParam extends ParamBase {
  type: 'duration';
  default?: string;
  /** The longest it may be; default and most: the longest duration anything accepts (366d). */
  max?: string;
}

/** A whole number from `min` to `max`. */
export interface IntegerParam extends ParamBase {
  type: 'integer';
  min: number;
  max: number;
  default?: number;
  /**
   * The inventory var (`backupRetention.daily`) whose value, when the environment sets it,
   * stands in for the default: the worker resolves it, the workflow leaves it unset.
   */
  inventoryDefault?: string;
}

/** A number from `min` to `max`, fractions allowed (`1.5` seconds). */
export interface NumberParam extends ParamBase {
  type: 'number';
  min: number;
  max: number;
  default?: number;
}

export interface EnumParam extends ParamBase {
  type: 'enum';
  values: readonly string[];
  default?: string;
}

/** A flag: given means true; never given, false. */
export interface BooleanParam extends ParamBase {
  type: 'boolean';
}

/** The words after `--` on the command line: an argv, never a shell string. */
export interface ListParam extends ParamBase {
  type: 'list';
  maxItems: number;
  maxLength: number;
}

export type Param = StringParam | DurationParam | IntegerParam | NumberParam | EnumParam | BooleanParam | ListParam;
export type ParamType = Param['type'];

/** A runbook's parameters by name, in the order help and docs show them. */
export type ParamDecls = Readonly<Record<string, Param>>;

/** Declares a runbook's parameters, keeping each one's literal types for `ParamsOf`. */
export function defineParams<const D extends ParamDecls>(decls: D): D {
  return decls;
}

type ValueOf<P> = P extends { type: 'boolean' }
  ? boolean
  : P extends { type: 'integer' | 'number' }
    ? number
    : P extends { type: 'list' }
      ? string[]
      : P extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : string;

type Required_<D> = { [K in keyof D]: D[K] extends { required: true } ? K : never }[keyof D];
type Filled<D> = {
  [K in keyof D]: D[K] extends { required: true } | { type: 'boolean' }
    ? K
    : D[K] extends { inventoryDefault: string }
      ? never
      : D[K] extends { default: unknown }
        ? K
        : never;
}[keyof D];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The parameters as a run's input carries them: what the starter gave, no defaults. */
export type ParamsOf<D extends ParamDecls> = Simplify<
  { -readonly [K in Required_<D>]: ValueOf<D[K]> } & {
    -readonly [K in Exclude<keyof D, Required_<D>>]?: ValueOf<D[K]>;
  }
>;

/** The parameters as the procedure uses them: every default filled in (but the inventory's). */
export type ValuesOf<D extends ParamDecls> = Simplify<
  { -readonly [K in Filled<D>]: ValueOf<D[K]> } & { -readonly [K in Exclude<keyof D, Filled<D>>]?: ValueOf<D[K]> }
>;

/**
 * Fills in the declared defaults (not those the inventory gives: the worker's to resolve) and
 * reads a whole number that an older client sent as text. The input was checked by the worker
 * (checkParam) before the procedure starts.
 */
export function paramValues<D extends ParamDecls>(decls: D, given: ParamsOf<D> | undefined): ValuesOf<D> {
  const raw = (given ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(decls)) {
    const value = raw[name];
    const numeric = (p.type === 'integer' || p.type === 'number') && typeof value === 'string';
    if (value !== undefined) out[name] = numeric ? Number(value) : value;
    else if (p.type === 'boolean') out[name] = false;
    else if ('default' in p && p.default !== undefined && !(p.type === 'integer' && p.inventoryDefault))
      out[name] = p.default;
  }
  return out as ValuesOf<D>;
}

/** `--name`, as the CLI spells a parameter (the argv parameter is the words after `--`). */
export function flagOf(name: string, p: Param): string {
  return p.type === 'list' ? '-- <command...>' : `--${name}`;
}

/** A parameter's type and bounds in words: `integer from 0 to 999`, `duration, at most 366d`. */
export function typeText(p: Param): string {
  switch (p.type) {
    case 'string':
      return p.shape ? `string (${p.shape})` : 'string';
    case 'duration':
      return `duration (e.g. 90s, 10m, 1h30m, 7d), at most ${p.max ?? formatDuration(MAX_DURATION_MS)}`;
    case 'integer':
      return `integer from ${p.min} to ${p.max}`;
    case 'number':
      return `number from ${p.min} to ${p.max}`;
    case 'enum':
      return `one of ${p.values.join(', ')}`;
    case 'boolean':
      return 'flag';
    case 'list':
      return `words after --, at most ${p.maxItems} of ${p.maxLength} characters`;
  }
}

/** What a run uses when the parameter is not given, in words; undefined when it is required. */
export function defaultText(p: Param): string | undefined {
  if (p.required) return undefined;
  if (p.type === 'boolean') return 'false';
  if (p.type === 'integer' && p.inventoryDefault) return `inventory ${p.inventoryDefault}, else ${p.default ?? 'none'}`;
  if ('default' in p && p.default !== undefined) return String(p.default);
  return 'none';
}

/** The placeholder of a parameter's value in a usage line: `<duration>`. */
export function valueHint(p: Param): string {
  return p.type === 'enum' ? p.values.join('|') : `<${p.type}>`;
}

/** `an integer from 0 to 999`, `one of fast, safe`: a type as the object of "is". */
function typePhrase(p: Param): string {
  const text = typeText(p);
  if (p.type === 'enum') return text;
  return `${/^[aeiou]/.test(text) ? 'an' : 'a'} ${text}`;
}

/**
 * One parameter's value checked against its declaration: the value a run uses (a whole number
 * given as text becomes a number), or an Error naming the parameter, its type and its bounds.
 * Text is what the command line gives; a JSON input may also carry numbers and booleans.
 */
export function checkParam(name: string, p: Param, value: unknown): unknown {
  const flag = flagOf(name, p);
  const shown = JSON.stringify(value)?.slice(0, 100) ?? String(value);
  const wrong = (why = '') =>
    new Error(`${flag} ${shown} is not valid: ${name} is ${typePhrase(p)}${why} (${p.description})`);
  switch (p.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw new Error(`${flag} is a flag: true or false, got ${shown}`);
      return value;
    case 'list': {
      if (!Array.isArray(value) || !value.length || value.some((w) => typeof w !== 'string'))
        throw new Error(`${name} needs the command after --, as separate words`);
      const words = value as string[];
      if (words.length > p.maxItems || words.some((w) => w.length > p.maxLength))
        throw new Error(`the command after -- is longer than ${p.maxItems} words of ${p.maxLength} characters`);
      return words;
    }
    case 'integer': {
      const n = typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw wrong();
      if (n < p.min || n > p.max) throw wrong(`; got ${n}`);
      return n;
    }
    case 'number': {
      const n = typeof value === 'string' && /^-?\d{1,15}(?:\.\d{1,15})?$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw wrong();
      if (n < p.min || n > p.max) throw wrong(`; got ${n}`);
      return n;
    }
    default:
  }
  if (Array.isArray(value)) throw new Error(`${flag} takes one value`);
  if (typeof value !== 'string') throw wrong();
  if (value.length > MAX_PARAM_LENGTH) throw new Error(`${flag} is longer than ${MAX_PARAM_LENGTH} characters`);
  switch (p.type) {
    case 'string':
      if (p.pattern && !p.pattern.test(value)) throw wrong();
      return value;
    case 'enum':
      if (!p.values.includes(value)) throw wrong();
      return value;
    case 'duration':
      if (!DURATION.test(value)) throw wrong();
      try {
        parseDuration(value, flag, p.max === undefined ? MAX_DURATION_MS : parseDuration(p.max));
      } catch (err) {
        // "--x: must be longer than zero, got ..." without the flag it already names.
        throw wrong(`; ${(err as Error).message.replace(/^[^:]*: /, '')}`);
      }
      return value;
  }
}

/**
 * The parameters of a run checked against the declaration: only declared names, each value of
 * its type and within its bounds, the required ones given. Returns them as the run uses them
 * (defaults not filled in: the input says what the starter asked).
 */
export function checkParamValues(
  runbook: string,
  decls: ParamDecls,
  given: unknown,
  maxParams = 50,
): Record<string, unknown> {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new Error('params must be an object');
  const values = given as Record<string, unknown>;
  const names = Object.keys(values);
  if (names.length > maxParams) throw new Error(`too many parameters (${names.length})`);
  const unknown = names.filter((n) => !Object.hasOwn(decls, n));
  if (unknown.length) {
    const known = Object.keys(decls).join(', ') || 'none';
    throw new Error(`${runbook} has no parameter ${JSON.stringify(unknown[0].slice(0, 100))} (parameters: ${known})`);
  }
  const checked: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(decls)) {
    const value = values[name];
    if (value === undefined) {
      if (p.required) throw new Error(`${runbook} needs ${flagOf(name, p)} (${typeText(p)}: ${p.description})`);
      continue;
    }
    checked[name] = checkParam(name, p, value);
  }
  return checked;
}
