/**
 * A local stand-in for GitHub's smart-HTTP git endpoint: git's own `git http-backend` (CGI) behind a
 * node:http server that authenticates the way github.com does for a GITHUB_TOKEN — HTTP Basic with
 * user `x-access-token` — and, like github.com, refuses a request with two Authorization headers.
 * A read-only token may fetch but not push (403, as without `contents: write`).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>/` — append `<repo>.git` (relative to `root`). */
  url: string;
  /** How many Authorization headers each request carried, and whether it was accepted. */
  requests: { path: string; authorizations: number; status: number }[];
  close(): Promise<void>;
}

export async function startGitHttp(root: string, tokens: { write: string; read?: string }): Promise<GitHttpServer> {
  const requests: GitHttpServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const values: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]!.toLowerCase() === 'authorization') values.push(req.rawHeaders[i + 1]!);
    }
    const deny = (status: number, message: string, headers: Record<string, string> = {}): void => {
      requests.push({ path: url.pathname, authorizations: values.length, status });
      req.resume();
      res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(`${message}\n`);
    };
    if (values.length > 1) return deny(400, 'Duplicate header: "Authorization"');
    const basic = /^basic\s+(.+)$/i.exec(values[0] ?? '')?.[1];
    const [user, password] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(/:(.*)/s) : [];
    const canWrite = user === 'x-access-token' && password === tokens.write;
    const canRead = canWrite || (user === 'x-access-token' && tokens.read !== undefined && password === tokens.read);
    if (!canRead) return deny(401, 'Invalid username or password.', { 'www-authenticate': 'Basic realm="GitHub"' });
    const pushing = url.searchParams.get('service') === 'git-receive-pack' || url.pathname.endsWith('/git-receive-pack');
    if (pushing && !canWrite) return deny(403, 'Permission to acme/app.git denied to github-actions[bot].');

    requests.push({ path: url.pathname, authorizations: values.length, status: 200 });
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      },
    });
    req.pipe(cgi.stdin);
    // CGI output: header lines, a blank line, then the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
      if (end < 0) return;
      const separator = head.indexOf('\r\n\r\n') >= 0 ? 4 : 2;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      headersDone = true;
      res.writeHead(status, headers);
      res.write(head.subarray(end + separator));
    });
    cgi.stdout.on('end', () => res.end());
    cgi.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
