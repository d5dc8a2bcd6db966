/** `kagami serve`: run the server until SIGTERM or SIGINT. */
import type { Command } from 'commander';
import { startServer, type RunningServer } from '../main.js';
import { configFrom, fail, withServerOptions, type CommonFlags } from './options.js';

export function registerServe(program: Command): void {
  withServerOptions(program.command('serve').description('run the mail server (MX, metrics) on the embedded SQLite store')).action(
    async (flags: CommonFlags) => {
      // Handlers go in before anything binds: ports.json appears before startServer resolves,
      // and a SIGTERM sent right then must stop the server gracefully, not kill it.
      let server: RunningServer | null = null;
      let stopRequested = false;
      let stopping = false;
      const stop = () => {
        stopRequested = true;
        if (!server || stopping) return;
        stopping = true;
        server
          .stop()
          .then(() => process.exit(0))
          .catch((err: unknown) => fail(err));
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      process.on('SIGHUP', () => void server?.reloadTls());
      try {
        server = await startServer(configFrom(flags));
      } catch (err) {
        fail(err);
      }
      if (stopRequested) stop();
    },
  );
}
