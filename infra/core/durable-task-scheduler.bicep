// Durable Task Scheduler (managed Durable Functions backend) with one task hub, and the data role
// the app's identity needs on it. Deployed only when main.bicep's durableBackend is
// 'DurableTaskScheduler' (see docs/scale.md for why it is the recommended backend).
param name string
param location string = resourceGroup().location
param tags object = {}
@description('Task hub name; the app setting AzureFunctionsJobHost__extensions__durableTask__hubName must match.')
param taskHubName string
@allowed([
  'Consumption'
  'Dedicated'
])
@description('Consumption: billed per action. Dedicated: fixed capacity units of up to 2,000 actions/s each.')
param skuName string = 'Consumption'
@description('Capacity units (Dedicated only; 3 for zone redundancy).')
param capacity int = 1
param appPrincipalId string
@description('Deployer object id, for the scheduler dashboard. Empty: no assignment.')
param deployerPrincipalId string = ''

// Durable Task Data Contributor; source: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/integration
var durableTaskDataContributorRoleId = '0ad04412-c4d5-4796-b79c-f76d14c8d402' // Durable Task Data Contributor

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: skuName == 'Dedicated' ? { name: skuName, capacity: capacity } : { name: skuName }
    // An empty list denies all traffic; the app authenticates with Entra ID (role below).
    ipAllowlist: [
      '0.0.0.0/0'
    ]
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

resource appDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(scheduler.id, appPrincipalId, durableTaskDataContributorRoleId)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributorRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource deployerDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(scheduler.id, deployerPrincipalId, durableTaskDataContributorRoleId)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributorRoleId)
    principalId: deployerPrincipalId
  }
}

output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
