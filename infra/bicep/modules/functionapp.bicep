// Flex Consumption plan and the gateway function app (.NET isolated worker), with a system-assigned identity
// that reaches storage, Application Insights and Key Vault without secrets.

@description('Azure region for the plan and the app.')
param location string

@description('Flex Consumption plan name.')
param planName string

@description('Function app name (globally unique host name).')
param functionAppName string

@description('Name of the storage account the app uses for host storage, tables and queues.')
param storageAccountName string

@description('URL of the blob container that holds the deployment package.')
param deploymentContainerUrl string

@description('Name of the Application Insights component that receives telemetry.')
param appInsightsName string

@description('Key Vault URI (ending in a slash) holding the gateway secrets.')
param keyVaultUri string

@description('Name of the Key Vault secret holding the gateway admin key.')
param adminKeySecretName string

@description('Name of the Key Vault secret holding the key that signs admin dashboard sessions.')
param dashboardSessionKeySecretName string

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

@description('Tags applied to every resource.')
param tags object

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
  // Identity-based host storage: with the system-assigned identity the account name alone is enough
  // (no __credential / __clientId, which are for user-assigned identities).
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storageAccountName
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsights.properties.ConnectionString
  }
  // Send telemetry with the app's Entra ID token (the component has local auth disabled).
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'Authorization=AAD'
  }
  // Resolved by the platform with the app's identity (role Key Vault Secrets User on the vault).
  {
    name: 'Gateway__AdminKey'
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${adminKeySecretName}/)'
  }
  // Signs admin dashboard sessions; until the secret exists the reference stays unresolved and dashboard sign-in is off.
  {
    name: 'Gateway__Dashboard__SessionKey'
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${dashboardSessionKeySecretName}/)'
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

var extraAppSettingsList = [
  for setting in items(extraAppSettings): {
    name: setting.key
    value: string(setting.value)
  }
]

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: 'SystemAssigned'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
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
      appSettings: concat(baseAppSettings, extraAppSettingsList)
    }
  }
}

// No FTP and no basic-auth publishing: deploy with Entra ID (az functionapp deploy / func publish while signed in).
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

@description('Function app default host name.')
output defaultHostName string = functionApp.properties.defaultHostName

@description('Object ID of the function app system-assigned identity.')
output principalId string = functionApp.identity.principalId
