// The function app's user-assigned managed identity. It exists (with its role assignments, modules/roleAssignments.bicep)
// before the app does, so the app's first start already reaches storage, Key Vault and Application Insights: no restart
// after the first deployment.

@description('Azure region for the identity.')
param location string

@description('Name of the user-assigned managed identity.')
param identityName string

@description('Tags applied to every resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

@description('Resource ID of the identity.')
output id string = identity.id

@description('Client (application) ID of the identity: AzureWebJobsStorage__clientId, AZURE_CLIENT_ID.')
output clientId string = identity.properties.clientId

@description('Object (principal) ID of the identity, for role assignments.')
output principalId string = identity.properties.principalId

@description('Identity name.')
output name string = identity.name
