// The broker's Function App on the Flex Consumption plan (Linux, Node.js), running as its
// user-assigned identity for storage, Key Vault, deployment and telemetry.
param name string
param planName string
param location string = resourceGroup().location
param tags object = {}
@description('Must match the service name in azure.yaml; azd finds the app by this tag.')
param serviceName string = 'api'
param nodeVersion string
@allowed([
  'DurableTaskScheduler'
  'AzureStorage'
])
param durableBackend string
@description('Durable Task Scheduler endpoint (https://…); empty with AzureStorage.')
param durableTaskSchedulerEndpoint string = ''
param taskHubName string
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
@description('Key Vault URI, ending with "/".')
param keyVaultUri string
param applicationInsightsConnectionString string
param brokerBaseUrl string = ''
param allowedReturnUrls string = ''
param authorizationTimeoutSeconds string = '600'
param providersFile string = ''
param providers string = ''
@allowed([2048, 4096])
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 100

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with this identity (the default would be a system identity).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

var secretUri = '${keyVaultUri}secrets'

// Every setting the broker reads (docs/configuration.md). This resource owns the whole list:
// `azd provision` replaces settings changed in the portal, so change them here.
// Secrets appear only as Key Vault references (versionless: the platform re-fetches them on a
// configuration change or every 24 hours, not on restart; the postprovision hook makes that
// configuration change after creating secrets, see docs/deploy.md). The local-development encryption key setting is absent on purpose:
// with KEY_VAULT_URL set the broker reads the key's versions straight from Key Vault.
var appSettings = {
  // Host, Durable Functions and broker tables, all with the managed identity (no account key).
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // DefaultAzureCredential (Key Vault, tables) picks the user-assigned identity by this id.
  AZURE_CLIENT_ID: identityClientId
  BROKER_BASE_URL: empty(brokerBaseUrl) ? 'https://${functionApp.properties.defaultHostName}' : brokerBaseUrl
  KEY_VAULT_URL: keyVaultUri
  BROKER_OPERATOR_KEY: '@Microsoft.KeyVault(SecretUri=${secretUri}/broker-operator-key/)'
  BROKER_CLIENT_KEYS: '@Microsoft.KeyVault(SecretUri=${secretUri}/broker-client-keys/)'
  BROKER_ALLOWED_RETURN_URLS: allowedReturnUrls
  BROKER_AUTHORIZATION_TIMEOUT_SECONDS: authorizationTimeoutSeconds
  BROKER_PROVIDERS_FILE: providersFile
  BROKER_PROVIDERS: providers
}

// host.json values the broker needs in Azure, set as app settings (AzureFunctionsJobHost__<path>
// overrides host.json: https://learn.microsoft.com/azure/azure-functions/functions-host-json#override-hostjson-values).
// Why each one: docs/scale.md, "Durable backend settings".
var hostOverride = 'AzureFunctionsJobHost__extensions__durableTask__'
var durableCommonSettings = {
  // startNew on a running connection must fail instead of replacing it.
  '${hostOverride}overridableExistingInstanceStates': 'NonRunningStates'
  '${hostOverride}hubName': taskHubName
}
var durableBackendSettings = durableBackend == 'DurableTaskScheduler'
  ? {
      '${hostOverride}storageProvider__type': 'azureManaged'
      '${hostOverride}storageProvider__connectionStringName': 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
      // Not a secret: the identity authenticates, the string only names the endpoint and the identity.
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
    }
  : {
      '${hostOverride}storageProvider__type': 'AzureStorage'
      // Fixed when the task hub is created; 16 is the maximum and sets how many workers run orchestrations.
      '${hostOverride}storageProvider__partitionCount': '16'
      // Bounds how late an idle control queue notices a due timer (default 30 s).
      '${hostOverride}storageProvider__maxQueuePollingInterval': '00:00:05'
    }

resource functionAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(appSettings, durableCommonSettings, durableBackendSettings)
}

output name string = functionApp.name
output baseUrl string = appSettings.BROKER_BASE_URL
