// Production environment:
//   GATEWAY_ADMIN_KEY=… GATEWAY_DASHBOARD_SESSION_KEY=… GATEWAY_PRIVACY_PEPPER=… GATEWAY_BUDGET_WEBHOOK_SECRET=… \
//   GATEWAY_ALERT_EMAILS=ops@example.com,oncall@example.com \
//   az deployment group create -g <resource-group> -f infra/bicep/main.bicep -p infra/bicep/main.prod.bicepparam
// (or `azd up` with AZURE_ENV_NAME=prod). Purge protection, longer retention, Redis and the write-once audit container
// are on. The pepper is referenced from the first deployment, so pass GATEWAY_PRIVACY_PEPPER (32+ characters) the first
// time: the app refuses to start on an unresolved pepper reference. Keep it afterwards: changing it changes every hash.
using 'main.bicep'

param environmentName = 'prod'
param namePrefix = 'llmgw'
param maximumInstanceCount = 100
param instanceMemoryMB = 2048
param enableKeyVaultPurgeProtection = true
param keyVaultSoftDeleteDays = 90
param logRetentionInDays = 365
param enableRedis = true
param redisSkuName = 'Standard'
param redisCapacity = 1
param enableAuditImmutability = true
param auditImmutabilityDays = 400
param secrets = {
  'gateway-admin-key': readEnvironmentVariable('GATEWAY_ADMIN_KEY', '')
  'gateway-dashboard-session-key': readEnvironmentVariable('GATEWAY_DASHBOARD_SESSION_KEY', '')
  'gateway-privacy-pepper': readEnvironmentVariable('GATEWAY_PRIVACY_PEPPER', '')
  'gateway-budget-webhook-secret': readEnvironmentVariable('GATEWAY_BUDGET_WEBHOOK_SECRET', '')
}
param keyVaultSettings = {
  Gateway__Privacy__Pepper: 'gateway-privacy-pepper'
  Gateway__Budgets__AlertWebhookSecret: 'gateway-budget-webhook-secret'
}
param alertEmailReceivers = empty(readEnvironmentVariable('GATEWAY_ALERT_EMAILS', '')) ? [] : split(readEnvironmentVariable('GATEWAY_ALERT_EMAILS', ''), ',')
param alertErrorRatePercent = 2
param alertErrorRateMinRequests = 50
param alertLatencyP95Ms = 30000
param tags = {
  owner: 'platform'
  costCenter: 'llm-gateway-prod'
}
