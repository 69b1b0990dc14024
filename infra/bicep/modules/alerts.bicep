// Alert rules on what the gateway and its platform write to the Log Analytics workspace, and the action group they
// notify. Each rule is a scheduled log query; docs/runbook.md says what to do when each fires.
//
//   5xx rate        llm_gateway.requests (the gateway's counter, tag http.response.status_code) in AppMetrics
//   p95 latency     the Functions host's request telemetry of the chat route (AppRequests, Name ChatCompletions)
//   breaker open    llm_gateway.breaker.transitions with llm_gateway.breaker.state = open, by deployment
//   poison queue    a message put on any `-poison` queue (StorageQueueLogs from the queue service's diagnostic setting)
//   budget          llm_gateway.budget.alerts: a budget crossed one of its thresholds

@description('Azure region for the alert rules (the workspace\'s).')
param location string

@description('Prefix for the rules\' names.')
param namePrefix string

@description('Resource ID of the Log Analytics workspace the queries run on.')
param workspaceId string

@description('E-mail addresses the action group notifies. Empty: the action group has no receivers (add them in the portal).')
param emailReceivers string[]

@description('Alert when more than this percentage of chat requests in 5 minutes answered 5xx.')
@minValue(1)
@maxValue(100)
param errorRatePercent int

@description('Only when at least this many chat requests were made in those 5 minutes (a lone failure is not a rate).')
@minValue(1)
param errorRateMinRequests int

@description('Alert when the p95 duration of chat requests over 15 minutes exceeds this (milliseconds; streams count to their last byte).')
@minValue(100)
param latencyP95Ms int

@description('Alert when a poison queue received at least this many messages in 15 minutes.')
@minValue(1)
param poisonMessages int

@description('Tags applied to every resource.')
param tags object

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take(replace(namePrefix, '-', ''), 12)
    enabled: true
    emailReceivers: [
      for (address, i) in emailReceivers: {
        name: 'email-${i}'
        emailAddress: address
        useCommonAlertSchema: true
      }
    ]
  }
}

var rules = [
  {
    name: '5xx-rate'
    severity: 1
    description: 'More than ${errorRatePercent} % of chat requests answered 5xx in 5 minutes (at least ${errorRateMinRequests} requests). Runbook: docs/runbook.md#5xx-rate'
    frequency: 'PT5M'
    window: 'PT5M'
    query: 'AppMetrics | where Name == "llm_gateway.requests" | extend status = toint(Properties["http.response.status_code"]) | summarize total = sum(Sum), errors = sumif(Sum, status >= 500) | where total >= ${errorRateMinRequests} | extend rate_percent = 100.0 * errors / total | where rate_percent > ${errorRatePercent}'
    dimensions: []
  }
  {
    name: 'latency-p95'
    severity: 2
    description: 'The p95 duration of chat requests over 15 minutes is above ${latencyP95Ms} ms. Runbook: docs/runbook.md#p95-latency'
    frequency: 'PT5M'
    window: 'PT15M'
    query: 'AppRequests | where Name == "ChatCompletions" | summarize p95_ms = percentile(DurationMs, 95), requests = count() | where p95_ms > ${latencyP95Ms}'
    dimensions: []
  }
  {
    name: 'breaker-open'
    severity: 2
    description: 'A deployment\'s circuit breaker opened: its provider is failing and requests go to other deployments. Runbook: docs/runbook.md#breaker-open'
    frequency: 'PT5M'
    window: 'PT5M'
    query: 'AppMetrics | where Name == "llm_gateway.breaker.transitions" | where tostring(Properties["llm_gateway.breaker.state"]) == "open" | summarize opened = sum(Sum) by deployment = tostring(Properties["llm_gateway.deployment"]) | where opened > 0'
    dimensions: [
      {
        name: 'deployment'
        operator: 'Include'
        values: [
          '*'
        ]
      }
    ]
  }
  {
    name: 'poison-queue'
    severity: 1
    description: 'Messages reached a poison queue (usage-records-poison, audit-events-poison, budget-alert-webhooks-poison…): they failed 5 times and wait for a replay. Runbook: docs/runbook.md#poison-queue'
    frequency: 'PT5M'
    window: 'PT15M'
    query: 'StorageQueueLogs | where OperationName == "PutMessage" | extend queue = extract(@"/([a-z0-9-]+-poison)", 1, ObjectKey) | where isnotempty(queue) | summarize messages = count() by queue | where messages >= ${poisonMessages}'
    dimensions: [
      {
        name: 'queue'
        operator: 'Include'
        values: [
          '*'
        ]
      }
    ]
  }
  {
    name: 'budget-threshold'
    severity: 3
    description: 'A gateway budget crossed one of its alert thresholds (the alert also went to the budget-alerts queue and the webhook). Runbook: docs/runbook.md#budget-threshold'
    frequency: 'PT5M'
    window: 'PT5M'
    query: 'AppMetrics | where Name == "llm_gateway.budget.alerts" | summarize alerts = sum(Sum) by scope_kind = tostring(Properties["llm_gateway.budget.scope_kind"]), threshold = tostring(Properties["llm_gateway.budget.threshold"]) | where alerts > 0'
    dimensions: [
      {
        name: 'scope_kind'
        operator: 'Include'
        values: [
          '*'
        ]
      }
      {
        name: 'threshold'
        operator: 'Include'
        values: [
          '*'
        ]
      }
    ]
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: '${namePrefix} ${rule.name}'
      description: rule.description
      severity: rule.severity
      enabled: true
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      scopes: [
        workspaceId
      ]
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            dimensions: rule.dimensions
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
  }
]

@description('Action group resource ID.')
output actionGroupId string = actionGroup.id

@description('Names of the alert rules.')
output ruleNames string[] = [for (rule, i) in rules: alertRules[i].name]
