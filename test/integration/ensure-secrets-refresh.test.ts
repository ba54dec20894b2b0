/**
 * The postprovision hook's Key Vault bootstrap (infra/hooks/ensure-secrets.js) against a loopback
 * stand-in for the Azure Resource Manager endpoints it calls: list and write the app settings
 * (a configuration change, which makes App Service re-read Key Vault references) and read each
 * reference's status.
 * @see https://learn.microsoft.com/rest/api/appservice/web-apps/list-application-settings
 * @see https://learn.microsoft.com/rest/api/appservice/web-apps/get-app-settings-key-vault-references
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const hook = require('../../infra/hooks/ensure-secrets.js') as {
  REFRESH_SETTING: string;
  createAppConfigClient: (options: { credential: unknown; appId: string; baseUrl: string }) => {
    listSettings(): Promise<Record<string, string>>;
    putSettings(settings: Record<string, string>): Promise<unknown>;
    referenceStatus(): Promise<{ setting: string; status: string; details?: string }[]>;
  };
  refreshKeyVaultReferences: (
    app: ReturnType<typeof hook.createAppConfigClient>,
    options: { now: () => Date; wait: (ms: number) => Promise<void>; intervalMs: number; limit: number; log?: (line: string) => void },
  ) => Promise<{ setting: string; status: string }[]>;
};

const APP_ID = '/subscriptions/sub/resourceGroups/rg-broker/providers/Microsoft.Web/sites/func-broker';
const REFERENCE = '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/broker-operator-key/)';

interface FakeArm {
  url: string;
  settings: Record<string, string>;
  /** Writes of the settings received, in order. */
  writes: Record<string, string>[];
  requests: { method: string; path: string; authorization?: string }[];
  /** How many writes it takes until the references resolve (the platform re-read them). */
  resolvesAfterWrites: number;
  close(): Promise<void>;
}

async function body(request: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of request) text += chunk;
  return text;
}

async function startFakeArm(settings: Record<string, string>, resolvesAfterWrites: number): Promise<FakeArm> {
  const arm: Omit<FakeArm, 'url' | 'close'> = { settings: { ...settings }, writes: [], requests: [], resolvesAfterWrites };
  const server: Server = createServer(async (request, response) => {
    const path = request.url ?? '';
    arm.requests.push({ method: request.method ?? '', path, authorization: request.headers.authorization });
    const send = (status: number, json: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    };
    if (!path.startsWith(`${APP_ID}/config/`)) return send(404, { error: { code: 'ResourceNotFound' } });
    if (request.method === 'POST' && path.startsWith(`${APP_ID}/config/appsettings/list?`)) return send(200, { properties: arm.settings });
    if (request.method === 'PUT' && path.startsWith(`${APP_ID}/config/appsettings?`)) {
      arm.settings = (JSON.parse(await body(request)) as { properties: Record<string, string> }).properties;
      arm.writes.push(arm.settings);
      return send(200, { properties: arm.settings });
    }
    if (request.method === 'GET' && path.startsWith(`${APP_ID}/config/configreferences/appsettings?`)) {
      const status = arm.writes.length >= arm.resolvesAfterWrites ? 'Resolved' : 'SecretNotFound';
      return send(200, { value: [{ name: 'func-broker/BROKER_OPERATOR_KEY', properties: { reference: REFERENCE, status, details: status === 'Resolved' ? undefined : 'secret missing' } }] });
    }
    return send(405, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(arm, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as FakeArm;
}

const scopes: string[] = [];
const credential = {
  getToken: async (scope: string) => {
    scopes.push(scope);
    return { token: 'arm-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};
const noWait = async (): Promise<void> => undefined;
const quiet = (): void => undefined;
const settings = { BROKER_OPERATOR_KEY: REFERENCE, BROKER_BASE_URL: 'https://func-broker.azurewebsites.net', KEY_VAULT_URL: 'https://kv.vault.azure.net/' };

let arm: FakeArm | undefined;
afterEach(async () => {
  await arm?.close();
  arm = undefined;
});

test('when a reference is unresolved, then the hook rewrites the settings unchanged plus the refresh marker until it resolves', async () => {
  arm = await startFakeArm(settings, 2);
  const app = hook.createAppConfigClient({ credential, appId: APP_ID, baseUrl: arm.url });
  expect(await app.referenceStatus()).toEqual([{ setting: 'BROKER_OPERATOR_KEY', status: 'SecretNotFound', details: 'secret missing' }]);
  const times = [new Date('2026-12-06T21:00:00Z'), new Date('2026-12-06T21:00:15Z')];
  const unresolved = await hook.refreshKeyVaultReferences(app, { now: () => times.shift() as Date, wait: noWait, intervalMs: 0, limit: 5, log: quiet });
  expect(unresolved).toEqual([]);
  expect(arm.writes).toEqual([
    { ...settings, [hook.REFRESH_SETTING]: '2026-12-06T21:00:00.000Z' },
    { ...settings, [hook.REFRESH_SETTING]: '2026-12-06T21:00:15.000Z' },
  ]);
  expect(new Set(arm.requests.map((r) => r.authorization))).toEqual(new Set(['Bearer arm-token']));
  expect(new Set(scopes)).toEqual(new Set(['https://management.azure.com/.default']));
  expect(arm.requests.every((r) => /[?&]api-version=\d{4}-\d{2}-\d{2}$/.test(r.path))).toBe(true);
});

test('when references never resolve, then the hook stops after its limit and names them', async () => {
  arm = await startFakeArm(settings, Number.POSITIVE_INFINITY);
  const app = hook.createAppConfigClient({ credential, appId: APP_ID, baseUrl: arm.url });
  const unresolved = await hook.refreshKeyVaultReferences(app, { now: () => new Date(), wait: noWait, intervalMs: 0, limit: 3, log: quiet });
  expect(unresolved).toEqual([{ setting: 'BROKER_OPERATOR_KEY', status: 'SecretNotFound', details: 'secret missing' }]);
  expect(arm.writes).toHaveLength(3);
});

test('when ARM refuses, then the error names the call and the status', async () => {
  arm = await startFakeArm(settings, 1);
  const app = hook.createAppConfigClient({ credential, appId: '/subscriptions/other', baseUrl: arm.url });
  await expect(app.listSettings()).rejects.toThrow(/^POST \/config\/appsettings\/list\?api-version=[\d-]+ answered 404$/);
});
