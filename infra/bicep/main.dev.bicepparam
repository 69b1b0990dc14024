// Development environment:
//   az deployment group create -g <resource-group> -f infra/bicep/main.bicep -p infra/bicep/main.dev.bicepparam
// (or `azd up` with AZURE_ENV_NAME=dev). Secrets come from environment variables so they never sit in a file; an empty
// one is not stored (set it later with az keyvault secret set; until the admin key exists the admin API is off).
using 'main.bicep'

param environmentName = 'dev'
param namePrefix = 'llmgw'
param maximumInstanceCount = 10
param instanceMemoryMB = 2048
param enableKeyVaultPurgeProtection = false
param keyVaultSoftDeleteDays = 7
param logRetentionInDays = 30
param enableRedis = false
param enableAuditImmutability = false
param secrets = {
  'gateway-admin-key': readEnvironmentVariable('GATEWAY_ADMIN_KEY', '')
  'gateway-dashboard-session-key': readEnvironmentVariable('GATEWAY_DASHBOARD_SESSION_KEY', '')
}
param alertEmailReceivers = []
param alertLatencyP95Ms = 60000
param tags = {
  owner: 'platform'
  costCenter: 'llm-gateway-dev'
}
