// LLM gateway: first deployable. One resource group holds a Flex Consumption function app (.NET isolated worker),
// its storage account (identity-based access only), Log Analytics + Application Insights, and a Key Vault.
//
//   az deployment group create -g <resource-group> -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
//
// Then deploy the code to the app (Entra ID sign-in; basic-auth publishing is off). Unless `adminKey` was passed,
// store the admin key: az keyvault secret set --vault-name <keyVaultName> -n gateway-admin-key --value <key>; unless
// `dashboardSessionKey` was passed, store the dashboard's session signing key the same way:
// az keyvault secret set --vault-name <keyVaultName> -n gateway-dashboard-session-key --value "$(openssl rand -base64 48)".
// Role assignments are created after the app (they need its identity), so restart the app once after the first
// deployment and after setting the secret: the Key Vault reference then resolves (until it does, the admin API
// stays disabled), and storage access errors from the first minutes stop.
targetScope = 'resourceGroup'

@description('Azure region for every resource. Flex Consumption must be available there.')
param location string = resourceGroup().location

@description('Short prefix for resource names: lowercase letters and digits.')
@minLength(3)
@maxLength(8)
param namePrefix string = 'llmgw'

@description('Environment the deployment is for; part of every resource name.')
@allowed([
  'dev'
  'prod'
])
param environmentName string

@description('Tags applied to every resource, in addition to environment and application.')
param tags object = {}

@description('Upper bound on the instances the function app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('.NET isolated worker version for Flex Consumption.')
param dotnetVersion string = '10.0'

@description('Turn on Key Vault purge protection (cannot be turned off later). On by default in prod.')
param enableKeyVaultPurgeProtection bool = environmentName == 'prod'

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@secure()
@description('Optional gateway admin key to store in Key Vault as secret gateway-admin-key. Leave empty to set it after deployment.')
param adminKey string = ''

@secure()
@description('Optional secret (32 characters or more) that signs admin dashboard sessions, stored in Key Vault as gateway-dashboard-session-key. Leave empty to set it after deployment; until then dashboard sign-in is off.')
param dashboardSessionKey string = ''

@description('Extra function app settings (name to value), e.g. Gateway__Catalog__... overrides. No secrets here: use Key Vault references.')
param appSettings object = {}

var resourceToken = uniqueString(resourceGroup().id)
var prefix = toLower(namePrefix)
var allTags = union(tags, {
  environment: environmentName
  application: 'llm-gateway'
})

var functionAppName = 'func-${prefix}-${environmentName}-${resourceToken}'
var planName = 'plan-${prefix}-${environmentName}-${resourceToken}'
var storageAccountName = take('st${prefix}${environmentName}${resourceToken}', 24)
var keyVaultName = take('kv-${prefix}-${environmentName}-${resourceToken}', 24)
var logAnalyticsName = 'log-${prefix}-${environmentName}-${resourceToken}'
var appInsightsName = 'appi-${prefix}-${environmentName}-${resourceToken}'
var deploymentContainerName = 'app-package'
var cacheContainerName = 'response-cache'
var adminKeySecretName = 'gateway-admin-key'
var dashboardSessionKeySecretName = 'gateway-dashboard-session-key'

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    storageAccountName: storageAccountName
    deploymentContainerName: deploymentContainerName
    cacheContainerName: cacheContainerName
    tableNames: [
      'gatewaykeys'
      'usage'
      'auditlog'
      'auditcheckpoints'
    ]
    queueNames: [
      'usage-records'
      'audit-events'
    ]
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    logAnalyticsName: logAnalyticsName
    appInsightsName: appInsightsName
    retentionInDays: logRetentionInDays
    tags: allTags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    keyVaultName: keyVaultName
    enablePurgeProtection: enableKeyVaultPurgeProtection
    softDeleteRetentionInDays: 90
    adminKeySecretName: adminKeySecretName
    adminKey: adminKey
    dashboardSessionKeySecretName: dashboardSessionKeySecretName
    dashboardSessionKey: dashboardSessionKey
    tags: allTags
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    planName: planName
    functionAppName: functionAppName
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultUri: keyVault.outputs.vaultUri
    adminKeySecretName: adminKeySecretName
    dashboardSessionKeySecretName: dashboardSessionKeySecretName
    auditSigningKeyId: keyVault.outputs.auditSigningKeyId
    dotnetVersion: dotnetVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    extraAppSettings: appSettings
    tags: allTags
  }
}

module roleAssignments 'modules/roleAssignments.bicep' = {
  name: 'role-assignments'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultName: keyVault.outputs.name
  }
}

@description('Function app name.')
output functionAppName string = functionApp.outputs.name

@description('Function app default host name (https://<host>/v1/...).')
output functionAppHostName string = functionApp.outputs.defaultHostName

@description('Storage account name.')
output storageAccountName string = storage.outputs.name

@description('Application Insights component name.')
output appInsightsName string = monitoring.outputs.appInsightsName

@description('Key Vault name.')
output keyVaultName string = keyVault.outputs.name
