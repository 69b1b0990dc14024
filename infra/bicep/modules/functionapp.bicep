// Flex Consumption plan and the gateway function app (.NET isolated worker). The app runs as a user-assigned managed
// identity, created with its role assignments before the app: host storage, Durable Task storage, the deployment
// package container, Key Vault references and Application Insights all use it, and no setting holds a secret.

@description('Azure region for the plan and the app.')
param location string

@description('Flex Consumption plan name.')
param planName string

@description('Function app name (globally unique host name).')
param functionAppName string

@description('Resource ID of the user-assigned identity the app runs as.')
param identityId string

@description('Client ID of that identity (AzureWebJobsStorage__clientId, AZURE_CLIENT_ID, the Application Insights authentication string).')
param identityClientId string

@description('Blob, queue and table service endpoints of the storage account (https://<account>.blob.core.windows.net/ …).')
param storageEndpoints {
  blob: string
  queue: string
  table: string
}

@description('URL of the blob container that holds the deployment package.')
param deploymentContainerUrl string

@description('Name of the Application Insights component that receives telemetry.')
param appInsightsName string

@description('Key Vault URI (ending in a slash) holding the gateway secrets.')
param keyVaultUri string

@description('App settings that are Key Vault references: app setting name to the name of the secret in the vault.')
param keyVaultSettings object

@description('The Key Vault key that signs audit checkpoints (Gateway:Audit:SigningKeyVaultKeyId).')
param auditSigningKeyId string

@description('.NET isolated worker version (functionAppConfig.runtime.version).')
param dotnetVersion string

@description('Upper bound on the instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Extra app settings (name to value) appended to the defaults; must not repeat a default name.')
param extraAppSettings object

@description('Tags applied to every resource; the app also gets azd-service-name so `azd deploy` finds it.')
param tags object

@description('The service name in azure.yaml.')
param azdServiceName string = 'gateway'

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // Flex Consumption runs on Linux only.
    reserved: true
  }
}

var baseAppSettings = [
  // Identity-based host storage with the user-assigned identity: the Functions host, its queue triggers, Durable Task's
  // Azure Storage provider (its connection is AzureWebJobsStorage) and the gateway's own Table/Queue/Blob clients
  // (StorageConnection reads the same settings) all use these.
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storageEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: storageEndpoints.queue
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: storageEndpoints.table
  }
  // DefaultAzureCredential (Entra ID calls to Azure OpenAI, Content Safety, Key Vault signing) picks this identity.
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsights.properties.ConnectionString
  }
  // Telemetry is sent with the identity's Entra ID token (the component has local auth disabled): the host reads this,
  // and so does the gateway's OpenTelemetry metric exporter.
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  // The usage timers' schedules (NCRONTAB) are app settings, so they can be changed without a redeploy.
  {
    name: 'GATEWAY_ROLLUP_SCHEDULE'
    value: '0 */5 * * * *'
  }
  {
    name: 'GATEWAY_RETENTION_SCHEDULE'
    value: '0 17 3 * * *'
  }
  // The daily analytics snapshot (yesterday's trends, forecasts, anomalies; its alerts), after the rollup that follows midnight.
  {
    name: 'GATEWAY_ANALYTICS_SCHEDULE'
    value: '0 30 0 * * *'
  }
  // The audit log's sealing and retention timers, and the key its checkpoints are signed with.
  {
    name: 'GATEWAY_AUDIT_SEAL_SCHEDULE'
    value: '0 */5 * * * *'
  }
  {
    name: 'GATEWAY_AUDIT_RETENTION_SCHEDULE'
    value: '0 41 3 * * *'
  }
  {
    name: 'Gateway__Audit__SigningKeyVaultKeyId'
    value: auditSigningKeyId
  }
]

// Every secret is a Key Vault reference, resolved by the platform with the user-assigned identity
// (keyVaultReferenceIdentity below; role Key Vault Secrets User on the vault). No version: the latest is used.
var keyVaultReferenceSettings = [
  for setting in items(keyVaultSettings): {
    name: setting.key
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${setting.value}/)'
  }
]

var extraAppSettingsList = [
  for setting in items(extraAppSettings): {
    name: setting.key
    value: string(setting.value)
  }
]

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': azdServiceName
  })
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
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
    // No healthCheckPath: App Service's instance Health check is documented for the Premium and Dedicated plans, not
    // for Flex Consumption. GET /health/ready (503 when storage or Durable fails) is for a probe in front of the app
    // (Front Door, Application Gateway, API Management) or an availability test; GET /health is the liveness check.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: concat(baseAppSettings, keyVaultReferenceSettings, extraAppSettingsList)
    }
  }
}

// No FTP and no basic-auth publishing: deploy with Entra ID (azd deploy, tools/Deploy, az functionapp deploy).
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Function app name.')
output name string = functionApp.name

@description('Function app resource ID (the deploy tool restarts it through ARM).')
output id string = functionApp.id

@description('Function app default host name.')
output defaultHostName string = functionApp.properties.defaultHostName
