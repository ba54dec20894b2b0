// Durable OAuth Broker on a Flex Consumption Function App.
// azd entry point: creates the resource group, then the resources inside it (see docs/deploy.md).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region for all resources. It must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person or pipeline running azd. Gets Key Vault Secrets Officer so the postprovision hook can create the broker secrets. Empty: no assignment.')
param principalId string = ''

@description('BROKER_ALLOWED_RETURN_URLS: comma list of URL prefixes that returnTo may point at. Empty: returnTo is refused.')
param allowedReturnUrls string = ''

@description('BROKER_AUTHORIZATION_TIMEOUT_SECONDS: how long a connection waits for its callback.')
param authorizationTimeoutSeconds string = '600'

@description('BROKER_PROVIDERS_FILE: provider definitions file shipped in the deployment package. Empty: built-in catalogue only.')
param providersFile string = ''

@description('BROKER_PROVIDERS: inline provider definitions (JSON). Use clientSecretName, never clientSecret, in Azure.')
param providers string = ''

@description('BROKER_BASE_URL override, for a custom domain. Empty: https://<default host name of the app>.')
param brokerBaseUrl string = ''

@description('Node.js version of the Flex Consumption runtime: 22 LTS (Node.js 20 reached end of life on 2026-04-30).')
@allowed([
  '22'
])
param nodeVersion string = '22'

@description('Durable Functions backend (docs/scale.md): DurableTaskScheduler (recommended) or AzureStorage (task hub in the app\'s storage account).')
@allowed([
  'DurableTaskScheduler'
  'AzureStorage'
])
param durableBackend string = 'DurableTaskScheduler'

@description('Durable Task Scheduler SKU: Consumption (per action) or Dedicated (capacity units). Ignored with AzureStorage.')
@allowed([
  'Consumption'
  'Dedicated'
])
param durableTaskSchedulerSku string = 'Consumption'

@description('Turn on Key Vault purge protection (recommended in production; it cannot be turned off again).')
param keyVaultPurgeProtection bool = false

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}broker-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
// Same name as host.json's hubName, so both backends use one name.
var taskHubName = 'OAuthBroker'
var useDurableTaskScheduler = durableBackend == 'DurableTaskScheduler'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}broker-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module keyVault './core/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    purgeProtection: keyVaultPurgeProtection
  }
}

// Roles first, so the app's first start can already read storage and resolve Key Vault references.
module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module durableTaskScheduler './core/durable-task-scheduler.bicep' = if (useDurableTaskScheduler) {
  name: 'durable-task-scheduler'
  scope: rg
  params: {
    name: 'dts-${resourceToken}'
    location: location
    tags: tags
    taskHubName: taskHubName
    skuName: durableTaskSchedulerSku
    appPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  dependsOn: [
    rbac
    durableTaskScheduler
  ]
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    nodeVersion: nodeVersion
    durableBackend: durableBackend
    durableTaskSchedulerEndpoint: useDurableTaskScheduler ? durableTaskScheduler!.outputs.endpoint : ''
    taskHubName: taskHubName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    keyVaultUri: keyVault.outputs.uri
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    brokerBaseUrl: brokerBaseUrl
    allowedReturnUrls: allowedReturnUrls
    authorizationTimeoutSeconds: authorizationTimeoutSeconds
    providersFile: providersFile
    providers: providers
  }
}

// azd reads these into the environment (.azure/<env>/.env); the postprovision hook uses AZURE_KEY_VAULT_ENDPOINT.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output BROKER_BASE_URL string = api.outputs.baseUrl
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
