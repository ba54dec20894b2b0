#!/usr/bin/env node
// `npm start`: the broker on the repository's local host with embedded Azurite and a demo OAuth 2.0
// provider (a real oidc-provider on loopback), so a newcomer can connect something in minutes.
// First run writes local.settings.json from the sample with a freshly generated encryption key.
// It says what it starts, and once the broker answers its health check, the URLs to open.
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const settingsPath = path.join(root, 'local.settings.json');
const samplePath = path.join(root, 'local.settings.sample.json');

function ensureLocalSettings() {
  if (fs.existsSync(settingsPath)) return JSON.parse(fs.readFileSync(settingsPath, 'utf8'));
  const settings = JSON.parse(fs.readFileSync(samplePath, 'utf8'));
  settings.Values.BROKER_ENCRYPTION_KEY = crypto.randomBytes(32).toString('base64');
  fs.writeFileSync(settingsPath, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  console.log('Created local.settings.json with a new encryption key (keep it: it decrypts your local tokens).');
  return settings;
}

function setting(values, name, fallback) {
  const fromEnv = process.env[name];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const fromFile = values[name];
  return fromFile !== undefined && fromFile !== '' ? fromFile : fallback;
}

function startDemoProvider(brokerBaseUrl, port) {
  const script = path.join(root, 'test/support/oidc/oidc-server.mjs');
  const config = {
    port,
    accessTokenTtlSeconds: 300,
    clients: [
      {
        client_id: 'demo-broker',
        client_secret: 'demo-broker-secret',
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [`${brokerBaseUrl}/api/callback/demo`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
  };
  const child = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.trim().startsWith('{'));
      if (line) resolve({ child, ...JSON.parse(line) });
    });
    child.once('exit', (code) => reject(new Error(`demo provider exited with code ${code}`)));
  });
}

const HEALTH_TIMEOUT_MS = 180_000;
const HEALTH_POLL_MS = 500;

/** Resolves once GET /api/health answers 200; false when the host exits or the time is up first. */
async function waitForHealth(url, host) {
  let exited = false;
  host.once('exit', () => (exited = true));
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (!exited && Date.now() < deadline) {
    const ok = await globalThis.fetch(url).then((answer) => answer.status === 200, () => false);
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
  }
  return false;
}

function printUrls(baseUrl, demo) {
  const rows = [
    ['Connect page', `${baseUrl}/api/connect`, 'connect a provider with a client key (BROKER_CLIENT_KEYS)'],
    ['Dashboard', `${baseUrl}/api/dashboard`, 'operators; the key is BROKER_OPERATOR_KEY'],
    ['API reference', `${baseUrl}/api/openapi.json`, 'OpenAPI 3.1'],
    ['Health', `${baseUrl}/api/health`, ''],
  ];
  if (demo) rows.push(['Demo provider', demo.issuer, 'sign in with any login and password']);
  // One write, so whoever reads the output (a terminal, a pipe) gets the whole list at once.
  const lines = rows.map(([label, url, note]) => `  ${label.padEnd(14)} ${url}${note ? `   (${note})` : ''}`);
  console.log(['\nThe broker is ready. Open:', ...lines, 'Settings: local.settings.json (environment variables win). Press Ctrl+C to stop.\n'].join('\n'));
}

async function main() {
  const { Values: values = {} } = ensureLocalSettings();
  const port = Number(setting(values, 'PORT', '7071'));
  const env = { ...process.env, PORT: String(port) };
  // The sample's base URL names port 7071; another PORT moves the callback URL along with it.
  const configured = setting(values, 'BROKER_BASE_URL', '');
  const baseUrl = (configured && (process.env.BROKER_BASE_URL || new URL(configured).port === String(port))
    ? configured
    : `http://localhost:${port}`
  ).replace(/\/+$/, '');
  env.BROKER_BASE_URL = baseUrl;
  if (!process.env.BROKER_ALLOWED_RETURN_URLS) {
    const allowed = setting(values, 'BROKER_ALLOWED_RETURN_URLS', '').split(',').map((u) => u.trim()).filter(Boolean);
    if (!allowed.some((u) => u.startsWith(baseUrl))) allowed.push(`${baseUrl}/`);
    env.BROKER_ALLOWED_RETURN_URLS = allowed.join(',');
  }

  let demo;
  if (process.env.BROKER_DEMO_PROVIDER !== 'off') {
    console.log('Starting the demo OAuth 2.0 provider (oidc-provider on loopback; BROKER_DEMO_PROVIDER=off skips it)…');
    demo = await startDemoProvider(baseUrl, Number(process.env.DEMO_PROVIDER_PORT ?? port + 9));
    const userProviders = setting(values, 'BROKER_PROVIDERS', '');
    const providers = userProviders ? JSON.parse(userProviders) : {};
    providers.demo ??= {
      protocol: 'oauth2',
      displayName: 'Demo provider (local oidc-provider)',
      authorizationUrl: `${demo.issuer}/auth`,
      tokenUrl: `${demo.issuer}/token`,
      revocationUrl: `${demo.issuer}/token/revocation`,
      apiBaseUrl: `${demo.issuer}/api`,
      defaultScopes: ['openid', 'profile', 'offline_access'],
      clientAuthMethod: 'client_secret_basic',
      clientId: 'demo-broker',
      clientSecret: 'demo-broker-secret',
    };
    env.BROKER_PROVIDERS = JSON.stringify(providers);
    console.log(`Demo provider (oidc-provider) at ${demo.issuer}: sign in with any login and password.`);
  }

  const storage = setting(values, 'AzureWebJobsStorage', 'UseDevelopmentStorage=true');
  const storageNote = /UseDevelopmentStorage=true/i.test(storage) ? 'embedded Azurite storage, data in .azurite/' : 'storage from AzureWebJobsStorage';
  console.log(`Starting the broker on the local Functions + Durable host at ${baseUrl} (${storageNote})…`);
  const host = spawn(process.execPath, [path.join(root, 'devhost/bin/devhost.js'), '--app', root, '--port', String(port)], {
    stdio: 'inherit',
    env,
  });
  const stop = (signal) => {
    host.kill(signal);
    demo?.child.kill(signal);
  };
  process.on('SIGINT', () => stop('SIGTERM'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  host.once('exit', (code) => {
    demo?.child.kill('SIGTERM');
    process.exit(code ?? 0);
  });
  if (await waitForHealth(`http://127.0.0.1:${port}/api/health`, host)) printUrls(baseUrl, demo);
  else console.error(`The broker did not answer ${baseUrl}/api/health in time; see the host's output above.`);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
