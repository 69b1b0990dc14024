// Development environment. Deploy with:
//   GATEWAY_ADMIN_KEY=<key> az deployment group create -g <resource-group> -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
// Without GATEWAY_ADMIN_KEY the vault secret is not created; set it later with az keyvault secret set. The same holds for
// GATEWAY_DASHBOARD_SESSION_KEY (the dashboard's session signing key, e.g. openssl rand -base64 48).
using 'main.bicep'

param environmentName = 'dev'
param namePrefix = 'llmgw'
param maximumInstanceCount = 10
param instanceMemoryMB = 2048
param enableKeyVaultPurgeProtection = false
param logRetentionInDays = 30
param adminKey = readEnvironmentVariable('GATEWAY_ADMIN_KEY', '')
param dashboardSessionKey = readEnvironmentVariable('GATEWAY_DASHBOARD_SESSION_KEY', '')
param tags = {
  owner: 'platform'
  costCenter: 'llm-gateway-dev'
}
