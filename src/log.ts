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

/**
 * Text from the database (a name, a statement) made safe for a log line, a comment or a message: every
 * control character (newline, tab, escape, C1, DEL, the Unicode line and paragraph separators) becomes a
 * visible escape, so such text never starts a new line (a workflow command `::…`, a psql meta-command).
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
}

/** A database name for a log line or a comment: as is when plain, else double-quoted and printable. */
export function displayName(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${printable(name.replace(/"/g, '""'))}"`;
}

/** A qualified name (`schema.table`, as the catalog gives its parts) for a log line or a comment. */
export function displayQualified(schema: string, name: string): string {
  return `${displayName(schema)}.${displayName(name)}`;
}

/**
 * A message for GitHub's log: no line of it may be read as a workflow command (`::name::`), which the
 * runner recognises at the start of any line of the output.
 */
export function neutraliseWorkflowCommands(message: string): string {
  return message.replace(/(^|\n)(\s*)::/g, '$1$2:\u200b:');
}
