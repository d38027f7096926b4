/** Where progress goes: GitHub's log in the action, the terminal in the CLI, a list in tests. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  /** Registers a secret so the log never shows it (GitHub masks it; others may ignore). */
  secret(value: string): void;
}

export const consoleLogger: Logger = {
  info: (message) => console.log(message),
  warning: (message) => console.warn(`warning: ${message}`),
  secret: () => undefined,
};

/** How often a long step (a dump, a restore) logs a progress line. */
export const PROGRESS_EVERY_MS = 15_000;

/**
 * The CLI's logger. On a terminal, progress lines (starting with ⏳) replace one another in place, as a
 * live display; anywhere else (a pipe, a CI log) every line is printed as it is.
 */
export function terminalLogger(out: NodeJS.WriteStream = process.stdout): Logger {
  if (!out.isTTY) return consoleLogger;
  let live = false;
  const settle = (): void => {
    if (live) out.write('\n');
    live = false;
  };
  return {
    info: (message) => {
      if (message.startsWith('⏳')) {
        out.write(`\r\x1b[2K${message}`);
        live = true;
        return;
      }
      settle();
      console.log(message);
    },
    warning: (message) => {
      settle();
      console.warn(`warning: ${message}`);
    },
    secret: () => undefined,
  };
}

export function formatBytes(bytes: number): string {
  bytes = Math.round(bytes);
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(2)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
