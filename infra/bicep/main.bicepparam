// The parameters `azd provision` / `azd up` use (azure.yaml: infra/bicep, module main). The azd environment's name is
// the gateway's environment, dev or prod (`azd env new prod`); main.bicep's defaults follow it (prod: purge protection,
// 365 days of logs, Redis, the write-once audit container, the pepper and webhook secret as Key Vault references), as
// main.dev.bicepparam and main.prod.bicepparam spell out for `az deployment group create`. Secrets and the alert
// e-mails come from environment variables (`azd env set GATEWAY_ADMIN_KEY …` or the shell), never from this file.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'dev')
param secrets = {
  'gateway-admin-key': readEnvironmentVariable('GATEWAY_ADMIN_KEY', '')
  'gateway-dashboard-session-key': readEnvironmentVariable('GATEWAY_DASHBOARD_SESSION_KEY', '')
  'gateway-privacy-pepper': readEnvironmentVariable('GATEWAY_PRIVACY_PEPPER', '')
  'gateway-budget-webhook-secret': readEnvironmentVariable('GATEWAY_BUDGET_WEBHOOK_SECRET', '')
}
param alertEmailReceivers = empty(readEnvironmentVariable('GATEWAY_ALERT_EMAILS', '')) ? [] : split(readEnvironmentVariable('GATEWAY_ALERT_EMAILS', ''), ',')
