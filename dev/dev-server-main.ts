// `npm run server`: the dev server with its Web UI, persisting to .temporal/ (git-ignored) so
// runs survive a restart. It lives and dies with the server it started: when that server dies
// (killed, crashed), it says so and exits within seconds, closing its codec server, so the
// next `npm run server` finds the ports free.
import * as path from 'node:path';
import { localDevServer } from '../src/config';
import { isServing, startDevServer } from './dev-server';
import { codecForLocalUi } from '../src/codec/local-codec-server';
import { runsUrl } from '../cli/output';
import { closeWithin } from './close-within';

async function main(): Promise<void> {
  // RUNBOOK_SERVER_PORT, RUNBOOK_UI_PORT, RUNBOOK_DEV_DATA_DIR (tests use ports and a directory of their own).
  const { port, uiPort, dataDir } = localDevServer();
  if (await isServing(`127.0.0.1:${port}`)) {
    console.log(`a Temporal server already answers on 127.0.0.1:${port}`);
    return;
  }
  const dbFile = path.join(dataDir, 'dev.db');
  const logFile = path.join(dataDir, 'server.log');
  const codec = await codecForLocalUi(`http://127.0.0.1:${uiPort}`);
  const server = await startDevServer({ port, uiPort, dbFile, logFile, codecEndpoint: codec.endpoint });
  console.log(
    `Temporal dev server (pid ${server.pid ?? '?'}) on ${server.address}, Web UI ${server.uiUrl}, ` +
      `data in ${dbFile}; Ctrl-C stops it`,
  );
  console.log(`runs only (not environment locks): ${runsUrl('default', server.uiUrl)}`);
  console.log(codec.note);
  const stop = () => void Promise.all([server.stop(), closeWithin(codec.server, 2000)]).then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  void server.died.then(async (how) => {
    const codecNote = codec.server ? `, with the codec server on ${codec.server.url}` : '';
    console.error(
      `server: the Temporal dev server (pid ${server.pid ?? '?'}) ${how}: stopping${codecNote} (see ${logFile})`,
    );
    await closeWithin(codec.server, 2000);
    process.exit(1);
  });
}

main().catch((err) => {
  console.error(`server: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
