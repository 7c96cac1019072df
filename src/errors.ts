/** A mistake in what the user typed: reported as one line, exit code 2, nothing started. */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** Temporal could not be reached or refused us: one line, exit code 3. */
export class ConnectionError extends Error {
  readonly exitCode = 3;
}
