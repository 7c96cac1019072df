// Known secret values are replaced before any output or error leaves the activity: the value
// itself and the other forms our own files and URLs give it (URL-encoded in the .env's
// database URL, base64, JSON-escaped, a multi-line value line by line).
export const REDACTED = '[redacted]';
/** Shorter lines of a multi-line secret are too common (`-----END`...) to redact on their own. */
const MIN_LINE = 8;

/** Every form of `secret` worth looking for, longest first so a form is never cut by a shorter one. */
export function secretForms(secret: string): string[] {
  if (secret.length < 4) return [];
  const forms = new Set<string>([secret]);
  const base = [
    secret,
    ...(secret.includes('\n') ? secret.split(/\r?\n/).filter((l) => l.trim().length >= MIN_LINE) : []),
  ];
  for (const s of base) {
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(encodeURI(s));
    forms.add(JSON.stringify(s).slice(1, -1));
    const b64 = Buffer.from(s, 'utf8').toString('base64');
    forms.add(b64);
    forms.add(b64.replace(/=+$/, ''));
    forms.add(b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
  }
  if (secret.includes('\n')) forms.add(secret.replace(/\r?\n/g, '\r\n'));
  return [...forms].filter((f) => f.length >= 4).sort((a, b) => b.length - a.length);
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    for (const form of secretForms(secret)) out = out.split(form).join(REDACTED);
  }
  return out;
}

/** The last `lines` lines of `text`, at most `chars` characters. Redact first, then cut. */
export function tail(text: string, lines = 20, chars = 2000): string {
  const t = text.split('\n').slice(-lines).join('\n');
  return t.length > chars ? `…${t.slice(-chars)}` : t;
}
