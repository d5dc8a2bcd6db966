/**
 * A job run now and then every `interval` seconds after each run ends (never two at once), as
 * the IMAP report poller and the alert check need: a failed run is handed to `onError` and the
 * next one comes at the next interval; stop() waits for a run in progress.
 */
export interface PeriodicTask {
  start(): void;
  stop(): Promise<void>;
}

export function createPeriodicTask(run: () => Promise<unknown>, intervalSeconds: number, onError: (err: unknown) => void): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  function tick(): void {
    if (stopped) return;
    running = run()
      .catch(onError)
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, intervalSeconds * 1000);
      });
  }

  return {
    start() {
      stopped = false;
      if (!timer && !running) tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
