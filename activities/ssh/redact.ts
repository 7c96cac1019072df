// Known secret values are replaced before any output or error leaves the activity.
export const REDACTED = '[redacted]';

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** The last `lines` lines of `text`, at most `chars` characters. */
export function tail(text: string, lines = 20, chars = 2000): string {
  const t = text.split('\n').slice(-lines).join('\n');
  return t.length > chars ? `…${t.slice(-chars)}` : t;
}
