// The audit checkpoints' write-once copies (container audit-checkpoints, AuditServices.CheckpointContainer). With
// immutability on (prod), a time-based retention policy (WORM) keeps every copy for `immutabilityDays`: nobody, the
// gateway included, can change or delete one before then, so a log truncated together with its latest checkpoints in
// the tables still shows. Off (dev), the container is an ordinary one that can be emptied.

@description('Name of the storage account that holds the container.')
param storageAccountName string

@description('Blob container of the audit checkpoints\' write-once copies.')
param containerName string = 'audit-checkpoints'

@description('Put the container under a time-based immutability policy.')
param immutable bool

@description('Days each checkpoint copy is immutable.')
@minValue(1)
@maxValue(146000)
param immutabilityDays int = 400

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-06-01' existing = {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-06-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

// Unlocked when created: lock it once the period is right (docs/readiness-checklist.md); a locked policy can only be
// lengthened, never removed.
resource policy 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2026-06-01' = if (immutable) {
  parent: container
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    // new checkpoints may still be added as new blobs; existing ones never change
    allowProtectedAppendWrites: false
    allowProtectedAppendWritesAll: false
  }
}

@description('Container name.')
output name string = container.name
