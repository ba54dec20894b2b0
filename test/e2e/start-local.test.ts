/**
 * `npm start` (scripts/start-local.js) against the real local host: it says what it is starting, and
 * once the broker answers its health check it prints the URLs to open, each of which answers. The
 * storage is this test's own Azurite (an environment variable wins over local.settings.json).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { AzuriteInstance, freePort, startAzurite } from '../support/azurite';
import { eventually, REPO_ROOT } from './support/broker-host';

jest.setTimeout(120_000);

let azurite: AzuriteInstance;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  // The script runs in its own process group (host, demo provider): stop that group only.
  if (child?.pid !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    process.kill(-child.pid, 'SIGTERM');
    await exited;
  }
  await azurite?.stop();
});

test('npm start prints what it starts and, once the broker is healthy, the URLs to open, which all answer', async () => {
  const port = await freePort();
  child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts/start-local.js')], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      DEMO_PROVIDER_PORT: String(await freePort()),
      BROKER_BASE_URL: `http://127.0.0.1:${port}`,
      AzureWebJobsStorage: azurite.connectionString,
    },
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

  // The list's last line, so a pipe that delivers the output in pieces cannot cut the list short.
  await eventually(async () => (output.includes('Press Ctrl+C to stop.') ? true : undefined), 90_000, 200);
  const demoAt = output.indexOf('Starting the demo OAuth 2.0 provider');
  const hostAt = output.indexOf(`Starting the broker on the local Functions + Durable host at http://127.0.0.1:${port}`);
  expect(demoAt).toBeGreaterThanOrEqual(0);
  expect(hostAt).toBeGreaterThan(demoAt);
  expect(output.indexOf('The broker is ready')).toBeGreaterThan(hostAt);

  const listed = Object.fromEntries(
    [...output.matchAll(/^ {2}(Connect page|Dashboard|API reference|Health|Demo provider) +(http\S+)/gm)].map((m) => [m[1], m[2]]),
  );
  expect(Object.keys(listed).sort()).toEqual(['API reference', 'Connect page', 'Dashboard', 'Demo provider', 'Health']);
  expect(listed['Dashboard']).toBe(`http://127.0.0.1:${port}/api/dashboard`);
  for (const [label, url] of Object.entries(listed)) {
    const answer = await fetch(label === 'Demo provider' ? `${url}/.well-known/openid-configuration` : url);
    expect([label, answer.status]).toEqual([label, 200]);
  }
  // The keys are named, never printed.
  expect(output).not.toContain('operator-key-change-me');
});
