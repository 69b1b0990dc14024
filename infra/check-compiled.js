// Checks what the compiled Bicep says (run by infra/validate.sh after bicep build / build-params):
//   node infra/check-compiled.js <main.json> <dir of compiled .bicepparam files> <main.prod.json built with GATEWAY_ALERT_EMAILS set>
// Exit 0 when every check holds; else one line per failed check and exit 1.
"use strict";
const fs = require("fs");
const path = require("path");

const [mainPath, paramsDir, prodEnvPath] = process.argv.slice(2);
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };

const main = JSON.parse(fs.readFileSync(mainPath, "utf8"));
const resources = main.resources;
const moduleText = (name) => JSON.stringify(resources[name]?.properties?.template ?? {});
// an app setting in the compiled module: a literal object or a createObject('name', '<setting>', …) expression
const hasSetting = (text, setting) => text.includes(`"name":"${setting}"`) || text.includes(`createObject('name', '${setting}'`);

// The identity and its roles exist before the app: no restart after the first deployment.
const appDependsOn = resources.functionApp?.dependsOn ?? [];
for (const needed of ["identity", "roleAssignments", "storage", "keyVault"])
  check(appDependsOn.includes(needed), `the function app module does not depend on '${needed}'`);
const roles = moduleText("roleAssignments");
for (const [role, id] of [["Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"], ["Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88"],
  ["Storage Table Data Contributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"], ["Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6"],
  ["Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb"]])
  check(roles.includes(id), `the role assignments lack ${role}`);

// The app runs as the user-assigned identity, for everything.
const app = moduleText("functionApp");
check(/"type":"UserAssigned"/.test(app), "the function app's identity is not UserAssigned");
check(app.includes('"keyVaultReferenceIdentity":"[parameters(\'identityId\')]"'), "keyVaultReferenceIdentity is not the user-assigned identity");
check(/"authentication":\{"type":"UserAssignedIdentity","userAssignedIdentityResourceId":"\[parameters\('identityId'\)\]"\}/.test(app),
  "the deployment container is not reached with the user-assigned identity");
for (const setting of ["AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId", "AzureWebJobsStorage__blobServiceUri",
  "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri", "AZURE_CLIENT_ID", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"])
  check(hasSetting(app, setting), `the app settings lack ${setting}`);
check(app.includes("@Microsoft.KeyVault(SecretUri="), "no Key Vault reference in the app settings");
check(!app.includes("AccountKey") && !app.includes("listKeys"), "the function app module reads an account key");
const defaults = JSON.stringify(main.variables?.defaultKeyVaultSettings ?? {});
for (const secret of ["Gateway__AdminKey", "Gateway__Dashboard__SessionKey"])
  check(defaults.includes(secret), `${secret} is not a Key Vault reference by default`);
check(JSON.stringify(main.variables?.redisKeyVaultSettings ?? "").includes("Gateway__Cache__RedisConnection"), "the Redis connection is not a Key Vault reference");
for (const secret of ["Gateway__AdminKey", "Gateway__Dashboard__SessionKey", "Gateway__Privacy__Pepper", "Gateway__Budgets__AlertWebhookSecret", "Gateway__Cache__RedisConnection"])
  check(!hasSetting(app, secret), `${secret} is set as a plain app setting in the function app module`);

// Identity-only storage, Entra-only telemetry.
check(moduleText("storage").includes('"allowSharedKeyAccess":false'), "the storage account allows shared keys");
check(moduleText("monitoring").includes('"DisableLocalAuth":true'), "Application Insights accepts local (key) authentication");

// Alerts and the workbook.
const alerts = moduleText("alerts");
for (const rule of ["5xx-rate", "latency-p95", "breaker-open", "poison-queue", "budget-threshold"])
  check(alerts.includes(`"name":"${rule}"`), `no '${rule}' alert rule`);
check(alerts.includes("Microsoft.Insights/actionGroups"), "no action group");
check(moduleText("workbook").includes("Microsoft.Insights/workbooks") && moduleText("workbook").includes("llm_gateway.requests"),
  "the workbook's content is missing");

// Parameters: no secret value in a committed file; prod turns on what production needs.
const params = {};
for (const file of fs.readdirSync(paramsDir).filter((f) => f.endsWith(".json")))
  params[path.basename(file, ".json")] = JSON.parse(fs.readFileSync(path.join(paramsDir, file), "utf8")).parameters;
for (const [name, p] of Object.entries(params))
  for (const [secret, value] of Object.entries(p.secrets?.value ?? {}))
    check(value === "", `${name}: secret '${secret}' has a value without its environment variable`);
const dev = params["main.dev"], prod = params["main.prod"], azd = params["main"];
// azd's parameters: the environment comes from AZURE_ENV_NAME (unset here: dev); the prod defaults follow it in main.bicep
check(azd?.environmentName?.value === "dev", "main.bicepparam (azd) does not default to the dev environment");
const defaultOf = (name) => JSON.stringify(main.parameters?.[name]?.defaultValue ?? "");
for (const name of ["enableRedis", "enableAuditImmutability", "enableKeyVaultPurgeProtection", "logRetentionInDays", "keyVaultSettings"])
  check(defaultOf(name).includes("equals(parameters('environmentName'), 'prod')"), `main.bicep: the default of ${name} does not follow the environment (azd up relies on it)`);
check(dev && prod, "main.dev and main.prod parameters are both needed");
if (dev && prod) {
  check(prod.enableKeyVaultPurgeProtection?.value === true, "prod: purge protection is off");
  check(prod.enableRedis?.value === true, "prod: Redis is off");
  check(prod.enableAuditImmutability?.value === true, "prod: the audit container is not immutable");
  check(prod.logRetentionInDays?.value > dev.logRetentionInDays?.value, "prod: log retention is not longer than dev's");
  check("Gateway__Privacy__Pepper" in (prod.keyVaultSettings?.value ?? {}), "prod: the privacy pepper is not a Key Vault reference");
  check(dev.enableRedis?.value === false && dev.enableKeyVaultPurgeProtection?.value === false, "dev: Redis or purge protection is on");
}
const prodEnv = JSON.parse(fs.readFileSync(prodEnvPath, "utf8")).parameters;
check(JSON.stringify(prodEnv.alertEmailReceivers?.value) === JSON.stringify(["ops@example.com", "oncall@example.com"]),
  "prod: GATEWAY_ALERT_EMAILS does not become the action group's receivers");
check(prodEnv.secrets?.value?.["gateway-privacy-pepper"] === "validate-pepper-not-a-secret-0123456789", "prod: GATEWAY_PRIVACY_PEPPER is not passed to the vault");

for (const problem of problems) console.error(`check-compiled: ${problem}`);
process.exit(problems.length === 0 ? 0 : 1);
