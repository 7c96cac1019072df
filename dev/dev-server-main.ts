// `npm run server`: the dev server with its Web UI, persisting to .temporal/ (git-ignored) so
// runs survive a restart.
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { isServing, startDevServer } from './dev-server';
import { codecForLocalUi } from '../src/codec/local-codec-server';

async function main(): Promise<void> {
  const port = Number(process.env.RUNBOOK_SERVER_PORT || 7233);
  const uiPort = Number(process.env.RUNBOOK_UI_PORT || 8233);
  if (await isServing(`127.0.0.1:${port}`)) {
    console.log(`a Temporal server already answers on 127.0.0.1:${port}`);
    return;
  }
  const dbFile = path.join(projectRoot, '.temporal', 'dev.db');
  const codec = await codecForLocalUi(`http://127.0.0.1:${uiPort}`);
  const server = await startDevServer({ port, uiPort, dbFile, logFile: path.join(projectRoot, '.temporal', 'server.log'), codecEndpoint: codec.endpoint });
  console.log(`Temporal dev server on ${server.address}, Web UI ${server.uiUrl}, data in ${dbFile}; Ctrl-C stops it`);
  console.log(codec.note);
  const stop = () => void Promise.all([server.stop(), codec.server?.close()]).then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`server: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
