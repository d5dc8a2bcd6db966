/** `kagami serve`: run the server until SIGTERM or SIGINT. */
import type { Command } from 'commander';
import { startServer } from '../main.js';
import { configFrom, fail, withServerOptions, type CommonFlags } from './options.js';

export function registerServe(program: Command): void {
  withServerOptions(program.command('serve').description('run the mail server (MX, metrics) on the embedded SQLite store')).action(
    async (flags: CommonFlags) => {
      let server;
      try {
        server = await startServer(configFrom(flags));
      } catch (err) {
        fail(err);
      }
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        server
          .stop()
          .then(() => process.exit(0))
          .catch((err: unknown) => fail(err));
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      process.on('SIGHUP', () => void server.reloadTls());
    },
  );
}
