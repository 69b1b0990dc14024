// Optional: Azure Cache for Redis as the shared response cache (Gateway:Cache:Backend = redis). Its connection string
// (TLS port 6380, the access key) goes straight into Key Vault as a secret; the app reads it through a Key Vault
// reference (Gateway__Cache__RedisConnection), so it appears in no app setting, parameter or output.

@description('Azure region for the cache.')
param location string

@description('Cache name (globally unique).')
param redisName string

@description('SKU: Basic (no replica, no SLA) or Standard (replicated).')
@allowed([
  'Basic'
  'Standard'
])
param skuName string

@description('Cache size: C0 (250 MB) to C6.')
@minValue(0)
@maxValue(6)
param capacity int

@description('Key Vault that receives the connection string.')
param keyVaultName string

@description('Name of the Key Vault secret that receives the connection string.')
param connectionSecretName string

@description('Tags applied to every resource.')
param tags object

resource redis 'Microsoft.Cache/redis@2024-11-01' = {
  name: redisName
  location: location
  tags: tags
  properties: {
    sku: {
      name: skuName
      family: 'C'
      capacity: capacity
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    redisVersion: '6'
    redisConfiguration: {
      // the cache holds entries with a ttl: evict those first when memory runs out
      'maxmemory-policy': 'volatile-lru'
    }
  }
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource connectionSecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: connectionSecretName
  properties: {
    value: '${redis.properties.hostName}:${redis.properties.sslPort},password=${redis.listKeys().primaryKey},ssl=True,abortConnect=False'
    contentType: 'text/plain'
  }
}

@description('Cache host name.')
output hostName string = redis.properties.hostName

@description('Name of the Key Vault secret holding the connection string.')
output connectionSecretName string = connectionSecret.name
