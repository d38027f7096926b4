/**
 * The file with COPY data, string literals and dollar-quoted bodies blanked out, comments kept: what
 * psql reads as statements. A test oracle independent of the scanner the action uses (one regex,
 * leftmost match wins, as SQL's lexical rules do for these four constructs).
 */
export function statementText(text: string): string {
  return text.replace(
    /--[^\n]*|'(?:[^']|'')*'|\$(\w*)\$[\s\S]*?\$\1\$|^COPY [^\n]* FROM stdin;\n[\s\S]*?^\\\.$/gm,
    (match) => (match.startsWith('--') ? match : match.startsWith('COPY') ? 'COPY …;' : "'…'"),
  );
}

