// The performance dashboard: an Azure Monitor workbook over the workspace (latency, throughput, errors, cost, cache,
// limits). Its content is workbooks/performance.json, kept as a file; the workspace's resource ID replaces the
// placeholder __WORKSPACE_ID__ in it.

@description('Azure region for the workbook.')
param location string

@description('Display name of the workbook.')
param displayName string

@description('Resource ID of the Log Analytics workspace the workbook queries.')
param workspaceId string

@description('Tags applied to every resource.')
param tags object

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // a workbook's name is a GUID
  name: guid(resourceGroup().id, displayName)
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: workspaceId
    serializedData: replace(loadTextContent('../workbooks/performance.json'), '__WORKSPACE_ID__', workspaceId)
  }
}

@description('Workbook resource ID.')
output id string = workbook.id
