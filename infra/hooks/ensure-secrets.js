#!/usr/bin/env node
// azd postprovision hook: creates the broker's Key Vault secrets that do not exist yet, with
// random values generated here, so no secret value ever sits in the templates or the azd
// environment. Existing secrets are never overwritten (a new encryption key version must be a
// deliberate rotation, see docs/key-rotation.md). Values are never printed.
//
// Provisioning wrote the app settings before this hook could create the secrets they reference,
// and App Service re-reads Key Vault references only on a configuration change or every 24 hours
// (not on restart). So when a secret was created, or a reference is not resolved, the hook makes
// that configuration change itself and waits until every reference resolves.
'use strict';

const { randomBytes } = require('node:crypto');

/** Secrets the Bicep app settings and the broker expect, with how a first value is made. */
const BROKER_SECRETS = [
  // AES-256-GCM key: base64 of 32 bytes; its secret version is the key id rows record.
  { name: 'broker-encryption-key', contentType: 'application/octet-stream;base64', create: () => randomBytes(32).toString('base64') },
  { name: 'broker-operator-key', contentType: 'text/plain', create: () => randomBytes(32).toString('base64url') },
  // BROKER_CLIENT_KEYS format: name:key[,name:key]; base64url keys contain neither ',' nor ':'.
  { name: 'broker-client-keys', contentType: 'text/plain', create: () => `default:${randomBytes(32).toString('base64url')}` },
];

// A role assignment made by the same provisioning run can take minutes to reach Key Vault.
const FORBIDDEN_RETRY_MS = 15_000;
const FORBIDDEN_RETRY_LIMIT = 20;

const ARM_URL = 'https://management.azure.com';
const WEB_API_VERSION = '2024-04-01';
/** Written by the hook only, to make the configuration change that re-reads Key Vault references. */
const REFRESH_SETTING = 'BROKER_KEY_VAULT_REFRESHED_AT';
const REFERENCE_CHECK_INTERVAL_MS = 15_000;
const REFERENCE_CHECK_LIMIT = 12;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function createSecret(client, secret) {
  try {
    await client.setSecret(secret.name, secret.create(), { contentType: secret.contentType });
  } catch (error) {
    if (error.statusCode === 409) {
      // Recovering keeps old encryption key versions, so stored credentials stay readable.
      throw new Error(`${secret.name} is soft-deleted: recover it (az keyvault secret recover) or purge it, then provision again.`);
    }
    throw error;
  }
}

async function ensureSecret(client, secret) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.getSecret(secret.name);
      return 'kept';
    } catch (error) {
      if (error.statusCode === 404) {
        await createSecret(client, secret);
        return 'created';
      }
      if (error.statusCode === 403 && attempt < FORBIDDEN_RETRY_LIMIT) {
        console.log(`  ${secret.name}: access not granted yet (role assignment propagating), retrying`);
        await sleep(FORBIDDEN_RETRY_MS);
        continue;
      }
      throw new Error(`${secret.name}: Key Vault answered ${error.statusCode ?? ''} ${error.code ?? error.message}`);
    }
  }
}

/** The app settings with the refresh marker set to `now`; every other setting unchanged. */
function withRefreshMarker(settings, now) {
  return { ...settings, [REFRESH_SETTING]: now.toISOString() };
}

/**
 * The app settings whose Key Vault reference is not resolved, from the ARM list of references
 * (`config/configreferences/appsettings`: one entry per reference, `properties.status`).
 */
function unresolvedReferences(collection) {
  return (collection.value ?? [])
    .filter((entry) => entry.properties?.status !== 'Resolved')
    .map((entry) => ({ setting: entry.name?.split('/').pop(), status: entry.properties?.status, details: entry.properties?.details }));
}

function appResourceId(env) {
  const missing = ['AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME'].filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`${missing.join(', ')} not set; run this through \`azd provision\``);
  return `/subscriptions/${env.AZURE_SUBSCRIPTION_ID}/resourceGroups/${env.AZURE_RESOURCE_GROUP}/providers/Microsoft.Web/sites/${env.AZURE_FUNCTION_APP_NAME}`;
}

/** Minimal Azure Resource Manager client for the app's settings and Key Vault reference status. */
function createAppConfigClient({ credential, appId, baseUrl = ARM_URL }) {
  async function request(method, path, body) {
    const { token } = await credential.getToken(`${ARM_URL}/.default`);
    const response = await globalThis.fetch(`${baseUrl}${appId}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}`);
    return response.json();
  }
  return {
    listSettings: async () => (await request('POST', `/config/appsettings/list?api-version=${WEB_API_VERSION}`)).properties ?? {},
    putSettings: (properties) => request('PUT', `/config/appsettings?api-version=${WEB_API_VERSION}`, { properties }),
    referenceStatus: async () => unresolvedReferences(await request('GET', `/config/configreferences/appsettings?api-version=${WEB_API_VERSION}`)),
  };
}

/**
 * Makes the configuration change that re-reads every Key Vault reference, until all resolve.
 * Resolves with the references still unresolved after the last attempt (empty when all resolved).
 */
async function refreshKeyVaultReferences(app, { now = () => new Date(), wait = sleep, intervalMs = REFERENCE_CHECK_INTERVAL_MS, limit = REFERENCE_CHECK_LIMIT, log = console.log } = {}) {
  let unresolved = [];
  for (let attempt = 1; attempt <= limit; attempt += 1) {
    await app.putSettings(withRefreshMarker(await app.listSettings(), now()));
    await wait(intervalMs);
    unresolved = await app.referenceStatus();
    if (unresolved.length === 0) return [];
    log(`  Key Vault references not resolved yet: ${unresolved.map((r) => `${r.setting} (${r.status})`).join(', ')}`);
  }
  return unresolved;
}

async function main() {
  const vaultUrl = process.env.AZURE_KEY_VAULT_ENDPOINT;
  if (!vaultUrl) {
    throw new Error('AZURE_KEY_VAULT_ENDPOINT is not set; run this through `azd provision` (or `azd env get-values`).');
  }
  let identity;
  let keyvault;
  try {
    identity = require('@azure/identity');
    keyvault = require('@azure/keyvault-secrets');
  } catch {
    throw new Error('Azure SDK packages missing: run `npm ci` in the project folder first.');
  }
  const credential = new identity.ChainedTokenCredential(
    new identity.AzureDeveloperCliCredential({ tenantId: process.env.AZURE_TENANT_ID }),
    new identity.AzureCliCredential({ tenantId: process.env.AZURE_TENANT_ID }),
  );
  const client = new keyvault.SecretClient(vaultUrl, credential);
  console.log(`Broker secrets in ${vaultUrl}:`);
  let created = false;
  for (const secret of BROKER_SECRETS) {
    const outcome = await ensureSecret(client, secret);
    created ||= outcome === 'created';
    console.log(`  ${secret.name}: ${outcome}`);
  }
  const app = createAppConfigClient({ credential, appId: appResourceId(process.env) });
  if (!created && (await app.referenceStatus()).length === 0) return;
  console.log('Re-reading the app\'s Key Vault references (configuration change):');
  const unresolved = await refreshKeyVaultReferences(app);
  if (unresolved.length > 0) {
    const list = unresolved.map((r) => `${r.setting}: ${r.status}${r.details ? ` (${r.details})` : ''}`).join('; ');
    throw new Error(`Key Vault references still unresolved: ${list}. See docs/deploy.md, "When a Key Vault reference does not resolve".`);
  }
  console.log('  all resolved');
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`ensure-secrets: ${error.message}`);
    process.exitCode = 1;
  });
}

module.exports = { BROKER_SECRETS, REFRESH_SETTING, createAppConfigClient, refreshKeyVaultReferences, unresolvedReferences, withRefreshMarker };
