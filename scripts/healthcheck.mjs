// The images' HEALTHCHECK (Dockerfile): plain JavaScript, no dependencies, so it costs one short
// Node start. A container runs one Flywheel process, so this asks whichever health endpoint its
// environment names and exits 0 only on a 200:
//   - a worker (FLYWHEEL_WORKER_HTTP_PORT set, as the images set it): GET /healthz on that port;
//   - `flywheel serve` (`serve` among PID 1's arguments, so the command decides, not a variable):
//     GET /healthz on FLYWHEEL_SERVE_PORT (default 8080),
//     over HTTPS when FLYWHEEL_SERVE_TLS_CERT is set (certificate not checked: it is this host).
// Liveness only (/healthz): readiness (/readyz) is an orchestrator's concern (infra/k8s probes).
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** PID 1's command line: what this container runs. */
function mainCommand() {
  try {
    return readFileSync('/proc/1/cmdline', 'utf8').split('\0');
  } catch {
    return process.argv.slice(2);
  }
}

const env = process.env;
const serving = mainCommand().includes('serve');
const port = serving ? (env.FLYWHEEL_SERVE_PORT ?? '8080') : env.FLYWHEEL_WORKER_HTTP_PORT;
if (!port) {
  process.stderr.write('healthcheck: FLYWHEEL_WORKER_HTTP_PORT is unset, so the worker serves no /healthz\n');
  process.exit(1);
}
const tls = serving && Boolean(env.FLYWHEEL_SERVE_TLS_CERT);
const request = tls ? httpsRequest : httpRequest;
const req = request(
  { host: '127.0.0.1', port: Number(port), path: '/healthz', timeout: 4000, ...(tls ? { rejectUnauthorized: false } : {}) },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck: ${err.message}\n`);
  process.exit(1);
});
req.end();
