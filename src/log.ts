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

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(2)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
