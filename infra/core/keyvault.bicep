// Key Vault for the broker's secrets: the credential encryption key (broker-encryption-key, read by
// the app with its own identity, one secret version per key id), the operator and client keys
// (app settings as Key Vault references) and provider client secrets (clientSecretName).
// Access is Azure RBAC only; no access policies. Secret values are created by
// infra/hooks/ensure-secrets.js, never by this template.
param name string
param location string = resourceGroup().location
param tags object = {}
@description('Purge protection cannot be turned off once on; recommended in production, where losing the encryption key loses every stored credential.')
param purgeProtection bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // The API rejects an explicit false: leave the property out unless turning it on.
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

output name string = vault.name
// Ends with '/'.
output uri string = vault.properties.vaultUri
