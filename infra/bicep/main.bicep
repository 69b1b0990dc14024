// LLM gateway. One resource group holds a Flex Consumption function app (.NET isolated worker) running as a
// user-assigned managed identity, its storage account (identity-based access only), Log Analytics + Application
// Insights (Entra ID ingestion only), a Key Vault (every secret the app reads is a Key Vault reference), alert rules
// with an action group, the performance workbook, and optionally Azure Cache for Redis and a write-once audit container.
//
//   azd up                                   (azure.yaml; main.bicepparam: AZURE_ENV_NAME=dev|prod, the defaults below follow it)
//   az deployment group create -g <resource-group> -f infra/bicep/main.bicep -p infra/bicep/main.dev.bicepparam
//
// The identity and its role assignments are created before the app (the app depends on them), so the first start
// already reaches storage, Key Vault and Application Insights: no restart after the first deployment. See docs/deploy.md.
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
param maximumInstanceCount int = environmentName == 'prod' ? 100 : 10

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

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteDays int = environmentName == 'prod' ? 90 : 7

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = environmentName == 'prod' ? 365 : 30

@secure()
@description('Secrets to put in Key Vault now, secret name to value (empty values are skipped; set those later with az keyvault secret set). Names the app reads: see keyVaultSettings.')
param secrets object = {}

@description('App settings that are Key Vault references, app setting name to secret name, added to the defaults (admin key, dashboard session key, and the Redis connection when Redis is on): provider keys (the catalog\'s ApiKeySetting names), Gateway__Privacy__Pepper, Gateway__Budgets__AlertWebhookSecret, a Content Safety key… Each secret must exist in the vault before the app starts when the app refuses to start without it (the pepper does).')
param keyVaultSettings object = environmentName == 'prod'
  ? {
      Gateway__Privacy__Pepper: 'gateway-privacy-pepper'
      Gateway__Budgets__AlertWebhookSecret: 'gateway-budget-webhook-secret'
    }
  : {}

@description('Extra function app settings (name to value), e.g. Gateway__Catalog__... overrides. No secrets here: use keyVaultSettings.')
param appSettings object = {}

@description('Create Azure Cache for Redis and use it as the shared response cache (Gateway__Cache__Backend=redis).')
param enableRedis bool = environmentName == 'prod'

@description('Redis SKU when enableRedis: Basic (no replica) or Standard (replicated).')
@allowed([
  'Basic'
  'Standard'
])
param redisSkuName string = environmentName == 'prod' ? 'Standard' : 'Basic'

@description('Redis size when enableRedis: 0 (C0, 250 MB) to 6.')
@minValue(0)
@maxValue(6)
param redisCapacity int = environmentName == 'prod' ? 1 : 0

@description('Put the audit checkpoints\' container under a time-based immutability policy (WORM).')
param enableAuditImmutability bool = environmentName == 'prod'

@description('Days each audit checkpoint copy stays immutable (at least Gateway__Audit__RetentionDays, 400).')
@minValue(1)
@maxValue(146000)
param auditImmutabilityDays int = 400

@description('E-mail addresses the alerts\' action group notifies.')
param alertEmailReceivers string[] = []

@description('5xx alert: percentage of chat requests in 5 minutes.')
@minValue(1)
@maxValue(100)
param alertErrorRatePercent int = environmentName == 'prod' ? 2 : 5

@description('5xx alert: the least number of chat requests in 5 minutes for the rate to count.')
@minValue(1)
param alertErrorRateMinRequests int = environmentName == 'prod' ? 50 : 20

@description('Latency alert: p95 of chat request duration over 15 minutes, in milliseconds.')
@minValue(100)
param alertLatencyP95Ms int = environmentName == 'prod' ? 30000 : 60000

@description('Poison-queue alert: messages put on a -poison queue in 15 minutes.')
@minValue(1)
param alertPoisonMessages int = 1

var resourceToken = uniqueString(resourceGroup().id)
var prefix = toLower(namePrefix)
var allTags = union(tags, {
  environment: environmentName
  application: 'llm-gateway'
})

var functionAppName = 'func-${prefix}-${environmentName}-${resourceToken}'
var planName = 'plan-${prefix}-${environmentName}-${resourceToken}'
var identityName = 'id-${prefix}-${environmentName}-${resourceToken}'
var storageAccountName = take('st${prefix}${environmentName}${resourceToken}', 24)
var keyVaultName = take('kv-${prefix}-${environmentName}-${resourceToken}', 24)
var logAnalyticsName = 'log-${prefix}-${environmentName}-${resourceToken}'
var appInsightsName = 'appi-${prefix}-${environmentName}-${resourceToken}'
var redisName = 'redis-${prefix}-${environmentName}-${resourceToken}'
var deploymentContainerName = 'app-package'
var cacheContainerName = 'response-cache'
var redisConnectionSecretName = 'gateway-redis-connection'

// The secrets every deployment references: the admin API and dashboard stay off until they exist in the vault.
var defaultKeyVaultSettings = {
  Gateway__AdminKey: 'gateway-admin-key'
  Gateway__Dashboard__SessionKey: 'gateway-dashboard-session-key'
}
var redisKeyVaultSettings = enableRedis
  ? {
      Gateway__Cache__RedisConnection: redisConnectionSecretName
    }
  : {}
var redisAppSettings = enableRedis
  ? {
      Gateway__Cache__Backend: 'redis'
    }
  : {}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    identityName: identityName
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
      'budget-alerts'
      'budget-alert-webhooks'
      'budget-reports'
    ]
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
    tags: allTags
  }
}

module auditContainer 'modules/auditContainer.bicep' = {
  name: 'audit-container'
  params: {
    storageAccountName: storage.outputs.name
    immutable: enableAuditImmutability
    immutabilityDays: auditImmutabilityDays
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    keyVaultName: keyVaultName
    enablePurgeProtection: enableKeyVaultPurgeProtection
    softDeleteRetentionInDays: keyVaultSoftDeleteDays
    secrets: secrets
    tags: allTags
  }
}

module redis 'modules/redis.bicep' = if (enableRedis) {
  name: 'redis'
  params: {
    location: location
    redisName: redisName
    skuName: redisSkuName
    capacity: redisCapacity
    keyVaultName: keyVault.outputs.name
    connectionSecretName: redisConnectionSecretName
    tags: allTags
  }
}

module roleAssignments 'modules/roleAssignments.bicep' = {
  name: 'role-assignments'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultName: keyVault.outputs.name
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    planName: planName
    functionAppName: functionAppName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageEndpoints: {
      blob: storage.outputs.endpoints.blob
      queue: storage.outputs.endpoints.queue
      table: storage.outputs.endpoints.table
    }
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultUri: keyVault.outputs.vaultUri
    keyVaultSettings: union(defaultKeyVaultSettings, redisKeyVaultSettings, keyVaultSettings)
    auditSigningKeyId: keyVault.outputs.auditSigningKeyId
    dotnetVersion: dotnetVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    extraAppSettings: union(redisAppSettings, appSettings)
    tags: allTags
  }
  // The identity's roles, the audit container and the Redis secret exist before the app's first start.
  dependsOn: [
    roleAssignments
    auditContainer
    redis
  ]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    namePrefix: '${prefix}-${environmentName}'
    workspaceId: monitoring.outputs.logAnalyticsId
    emailReceivers: alertEmailReceivers
    errorRatePercent: alertErrorRatePercent
    errorRateMinRequests: alertErrorRateMinRequests
    latencyP95Ms: alertLatencyP95Ms
    poisonMessages: alertPoisonMessages
    tags: allTags
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  params: {
    location: location
    displayName: 'LLM gateway performance (${environmentName})'
    workspaceId: monitoring.outputs.logAnalyticsId
    tags: allTags
  }
}

@description('Function app name.')
output functionAppName string = functionApp.outputs.name

@description('Function app resource ID (tools/Deploy restarts it through ARM).')
output functionAppId string = functionApp.outputs.id

@description('Function app default host name (https://<host>/v1/...).')
output functionAppHostName string = functionApp.outputs.defaultHostName

@description('Storage account name.')
output storageAccountName string = storage.outputs.name

@description('Deployment package container URL (tools/Deploy uploads here).')
output deploymentContainerUrl string = storage.outputs.deploymentContainerUrl

@description('Client ID of the app\'s user-assigned identity.')
output identityClientId string = identity.outputs.clientId

@description('Application Insights component name.')
output appInsightsName string = monitoring.outputs.appInsightsName

@description('Key Vault name.')
output keyVaultName string = keyVault.outputs.name

// azd reads these as environment values.
@description('The resource group (azd).')
output AZURE_RESOURCE_GROUP string = resourceGroup().name

@description('The function app (azd).')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
