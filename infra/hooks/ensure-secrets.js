#!/usr/bin/env node
// azd postprovision hook: creates the broker's Key Vault secrets that do not exist yet, with
// random values generated here, so no secret value ever sits in the templates or the azd
// environment. Existing secrets are never overwritten (a new encryption key version must be a
// deliberate rotation, see docs/key-rotation.md). Values are never printed.
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
  for (const secret of BROKER_SECRETS) {
    console.log(`  ${secret.name}: ${await ensureSecret(client, secret)}`);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`ensure-secrets: ${error.message}`);
    process.exitCode = 1;
  });
}

module.exports = { BROKER_SECRETS };
