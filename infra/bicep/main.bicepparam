// Development environment. Deploy with:
//   GATEWAY_ADMIN_KEY=<key> az deployment group create -g <resource-group> -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
// Without GATEWAY_ADMIN_KEY the vault secret is not created; set it later with az keyvault secret set.
using 'main.bicep'

param environmentName = 'dev'
param namePrefix = 'llmgw'
param maximumInstanceCount = 10
param instanceMemoryMB = 2048
param enableKeyVaultPurgeProtection = false
param logRetentionInDays = 30
param adminKey = readEnvironmentVariable('GATEWAY_ADMIN_KEY', '')
param tags = {
  owner: 'platform'
  costCenter: 'llm-gateway-dev'
}
