// Key Vault (RBAC authorization) holding the gateway's secrets (admin key, dashboard session key, pepper, provider keys…)
// and the audit checkpoints' signing key. The app reads secrets through Key Vault references with its user-assigned identity.

@description('Azure region for the vault.')
param location string

@description('Globally unique Key Vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Turn on purge protection. It cannot be turned off again once on.')
param enablePurgeProtection bool

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@secure()
@description('Secrets to store, secret name to value (e.g. gateway-admin-key). Empty values are skipped: set those with az keyvault secret set.')
param secrets object

@description('Tags applied to every resource.')
param tags object

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // Key Vault rejects an explicit false once purge protection was ever on, so leave it out unless wanted.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource secretValues 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = [
  for secret in items(secrets): if (!empty(secret.value)) {
    parent: vault
    name: secret.key
    properties: {
      value: secret.value
      contentType: 'text/plain'
    }
  }
]

// The audit log's checkpoint signing key: EC P-256, sign and verify only. Its private half never leaves the vault; the
// gateway signs through the vault's REST API with its identity (role Key Vault Crypto User on the vault).
resource auditSigningKey 'Microsoft.KeyVault/vaults/keys@2026-05-15' = {
  parent: vault
  name: 'gateway-audit-signing'
  properties: {
    kty: 'EC'
    curveName: 'P-256'
    keyOps: [
      'sign'
      'verify'
    ]
  }
}

@description('Key Vault name.')
output name string = vault.name

@description('The audit signing key\'s id without a version (Gateway:Audit:SigningKeyVaultKeyId).')
output auditSigningKeyId string = '${vault.properties.vaultUri}keys/${auditSigningKey.name}'

@description('Key Vault URI, ending in a slash.')
output vaultUri string = vault.properties.vaultUri
