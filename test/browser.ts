// The real Web UI in a real browser: Debian's chromium driven by playwright-core (no browser
// download). The flags keep it from reaching for the internet, which this machine lacks and
// where chromium would otherwise wait on refused connections.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.RUNBOOK_TEST_CHROMIUM || '/usr/bin/chromium';

export interface Browser {
  page: Page;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: bash scripts/ensure-system-packages.sh installs it`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      viewport: { width: 1400, height: 1000 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Sends a signal the way a person does in the Web UI (2.42): the run's page, "More Actions",
 * "Send a Signal", the signal picked from the list the workflow declares, its input typed into
 * the JSON editor, "Submit".
 */
export async function sendSignalInUi(page: Page, runUrl: string, signal: string, input: unknown): Promise<void> {
  await page.goto(runUrl);
  await page.getByRole('button', { name: /More Actions/ }).click();
  await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send a Signal' });
  await dialog.getByRole('button', { name: 'Select a signal' }).click();
  await page.getByRole('option', { name: signal, exact: true }).click();
  // The editor closes brackets as they are typed; inserted text is taken as it is.
  const editor = dialog.locator('[contenteditable="true"][role="textbox"]');
  await editor.click();
  await page.keyboard.insertText(JSON.stringify(input));
  // Leaving the editor pretty-prints the JSON, which grows the dialog and moves its buttons: a
  // click that starts the blur would end beside the button and submit nothing. Blur first.
  await editor.blur();
  const sent = page.waitForResponse(
    (r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith(`/signal/${signal}`),
  );
  await dialog.getByRole('button', { name: 'Submit' }).click();
  const response = await sent;
  if (!response.ok())
    throw new Error(`the Web UI's signal request failed: ${response.status()} ${await response.text()}`);
  await dialog.waitFor({ state: 'hidden' });
}

/** Saves what the page shows, to look at when a UI test fails. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(os.tmpdir(), `runbook-ui-${name}-${Date.now()}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
  return file;
}
