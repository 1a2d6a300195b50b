/**
 * The API description, `GET /api/openapi.json` (OpenAPI 3.1), from one registry: an entry
 * per route file, holding the very zod schemas the handler validates with (shared/*) and
 * the response schemas the API tests parse real answers with (shared/responses.ts),
 * converted by zod's own `z.toJSONSchema`. Who may call a route is read from the gateway's
 * table (gateway.ts), the status of each error code from shared/errors.ts.
 * tests/unit/openapi.test.ts fails when a route file has no entry or an entry no route file.
 *
 * A new route: add its entry to `apiRoutes` (params, query and body schemas imported from
 * shared/, a response schema in shared/responses.ts, the error codes it raises itself), and
 * a request for it in tests/api/openapi.test.ts.
 */
import { z } from 'zod'
import pkg from '../../package.json'
import {
  analyticsQuery, batchBody, conversationIdParams, conversationListQuery, conversationStreamBody, conversationStreamQuery,
  messageListQuery, projectIdParams, searchQuery,
} from '../../shared/conversations'
import { errorCodes, type ErrorCode } from '../../shared/errors'
import { eventKinds, eventSchemas, ingestLimits } from '../../shared/events'
import { auditQuery, keyCreateBody, keyIdParams } from '../../shared/gateway'
import { projectCreateBody, projectFeaturesBody, projectListQuery, projectParams } from '../../shared/projects'
import {
  pipelineCancelBody, pipelineCreateBody, pipelineDeliveriesQuery, pipelineExecuteBody, pipelineListQuery, pipelineParams, pipelineRetryBody,
  pipelineRunParams, pipelineVisualizationQuery,
} from '../../shared/pipelines'
import {
  agentListQuery, blockerListQuery, decisionListQuery, eventListQuery, eventStatsQuery, taskIdParams, taskListQuery,
} from '../../shared/records'
import {
  agentAnalyticsQuery, agentCommandParams, agentIdParams, alertListQuery, commandAckBody, commandBody, commandListQuery, heartbeatBody,
} from '../../shared/agents'
import {
  agentAnalyticsResponse, agentListResponse, agentStatusResponse, alertListResponse, apiKeyCreatedResponse, apiKeyListResponse, apiKeyRevokedResponse, auditListResponse, blockerListResponse,
  connectorListResponse, conversationAnalyticsResponse, conversationBatchResponse, conversationListResponse, conversationSchema,
  decisionListResponse, errorEnvelope, eventListResponse, eventStatsResponse, healthResponse, ingestResponse, messageListResponse,
  messageSearchResponse, openApiDocumentResponse, projectDetailResponse, projectListResponse, projectWorkflowResponse,
  streamAttachmentResponse, taskDetailResponse, taskListResponse, commandIssuedResponse, commandListResponse, commandUpdatedResponse,
  heartbeatResponse, pipelineDeliveriesResponse, pipelineDetailResponse, pipelineListResponse, pipelineRunResponse, pipelineVisualizationResponse,
} from '../../shared/responses'
import type { Role } from './auth'
import { type Access, accessFor, openRoutes, rolesFor } from './gateway'
import { policyFor } from './ratelimit'
import { type ApiResponseSpec, type ApiRoute, json, tags } from './openapi-spec'
import { costRoutes } from './openapi-costs'
import { insightRoutes } from './openapi-insights'
import { operationRoutes } from './openapi-operations'
import { dashboardRoutes } from './openapi-dashboards'

/** Documentation only: the route reads `events` and validates each event on its own, so one bad event never rejects its neighbours. */
const ingestBody = z.object({
  events: z.array(z.union(eventKinds.map(kind => eventSchemas[kind].meta({ id: eventComponentId(kind) }))))
    .max(ingestLimits.maxEvents)
    .describe(`At most ${ingestLimits.maxEvents} events and ${ingestLimits.maxBytes / 1024 / 1024} MB; each has a \`kind\`.`),
})

/** Documentation only: `prepareUpgrade` (realtime.ts) reads these from the upgrade request. */
const websocketQuery = z.object({
  token: z.string().optional().describe('A JWT or API key. Alternatives: the subprotocol `bearer.<token>` next to `seneca.v1`, or an `auth` message first.'),
  since_seq: z.string().regex(/^\d{1,15}$/).optional().describe('Replay the events after this seq on connect.'),
})

/** Documentation only: the stream handler reads the header itself. */
const streamHeaders = z.object({
  'Last-Event-ID': z.string().regex(/^\d{1,15}$/).optional().describe('Replay from this seq (EventSource sends it on reconnect).'),
})

export const apiRoutes: ApiRoute[] = [
  // Health and meta
  {
    method: 'get', path: '/health', operationId: 'getHealth', tag: 'Health', summary: 'Health of the instance',
    responses: { 200: json('Healthy', healthResponse), 503: json('Degraded or unhealthy', healthResponse) },
  },
  {
    method: 'get', path: '/api/health', operationId: 'getApiHealth', tag: 'Health', summary: 'Health of the instance (under /api)',
    responses: { 200: json('Healthy', healthResponse), 503: json('Degraded or unhealthy', healthResponse) },
  },
  {
    method: 'get', path: '/api/openapi.json', operationId: 'getOpenApiDocument', tag: 'Meta', summary: 'This description (OpenAPI 3.1)',
    responses: { 200: json('The document', openApiDocumentResponse) },
  },
  {
    method: 'get', path: '/metrics', operationId: 'getMetrics', tag: 'Health', summary: 'Prometheus metrics',
    description: 'Open unless `SENECA_METRICS_TOKEN` is set; then it wants `Authorization: Bearer <that token>`.',
    responses: { 200: { description: 'The Prometheus text exposition format', mediaType: 'text/plain' } },
    errors: ['UNAUTHORIZED'],
  },

  // Ingest
  {
    method: 'post', path: '/api/ingest', operationId: 'ingestEvents', tag: 'Ingest', summary: 'Send events',
    description: 'Each event is validated and stored on its own; a client-given `id` makes a re-send a no-op. The answer lists every event in order.',
    body: ingestBody,
    responses: { 200: json('Every event stored or a duplicate', ingestResponse), 207: json('Some events were rejected (see each result)', ingestResponse) },
  },

  // Conversations
  {
    method: 'get', path: '/api/conversations', operationId: 'listConversations', tag: 'Conversations', summary: 'List conversations',
    description: 'Newest activity first. Page with `offset`, or for deep paging with `cursor` (the previous page\'s `next_cursor`).',
    query: conversationListQuery,
    responses: { 200: json('A page of conversations', conversationListResponse) },
    errors: ['INVALID_CURSOR'],
  },
  {
    method: 'get', path: '/api/conversations/{id}', operationId: 'getConversation', tag: 'Conversations', summary: 'One conversation',
    params: conversationIdParams,
    responses: { 200: json('The conversation', conversationSchema) },
    errors: ['CONVERSATION_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/conversations/{id}/messages', operationId: 'listConversationMessages', tag: 'Conversations', summary: 'A page of a conversation\'s messages',
    description: 'Chronological within the page. No cursor: the newest messages; `before`/`after` (message ids) page backwards/forwards.',
    params: conversationIdParams, query: messageListQuery,
    responses: { 200: json('A page of messages', messageListResponse) },
    errors: ['CONVERSATION_NOT_FOUND', 'MESSAGE_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/conversations/analytics', operationId: 'getConversationAnalytics', tag: 'Conversations', summary: 'Conversation analytics',
    description: 'From hourly rollups. Across projects for admins; others pass `project_id` (or have exactly one project).',
    query: analyticsQuery,
    responses: { 200: json('The figures', conversationAnalyticsResponse) },
  },
  {
    method: 'post', path: '/api/conversations/batch', operationId: 'getConversationsBatch', tag: 'Conversations', summary: 'Many conversations by id',
    description: 'Answered per id, in request order.',
    body: batchBody,
    responses: { 200: json('One result per id', conversationBatchResponse) },
    errors: ['BATCH_TOO_LARGE'],
  },
  {
    method: 'get', path: '/api/conversations/search', operationId: 'searchMessages', tag: 'Conversations', summary: 'Full-text search of messages',
    description: 'Any language; scripts written without spaces (Chinese, Japanese) by substring.',
    query: searchQuery,
    responses: { 200: json('Matching messages with snippets', messageSearchResponse) },
  },
  {
    method: 'get', path: '/api/projects/{project_id}/conversations', operationId: 'listProjectConversations', tag: 'Conversations', summary: 'List one project\'s conversations',
    params: projectIdParams, query: conversationListQuery,
    responses: { 200: json('A page of conversations', conversationListResponse) },
    errors: ['INVALID_CURSOR', 'PROJECT_NOT_FOUND'],
  },

  // Realtime
  {
    method: 'get', path: '/api/ws', operationId: 'connectWebSocket', tag: 'Realtime', summary: 'The realtime WebSocket',
    description: 'Upgrade to a WebSocket (subprotocol `seneca.v1`); every frame is JSON `{event, channel?, seq?, data}`. '
      + 'Authenticate with `token`, the `bearer.<token>` subprotocol or an `auth` message. The messages are in shared/realtime.ts '
      + 'and the README\'s "WebSocket protocol" section.',
    query: websocketQuery, upgrade: true,
    responses: { 101: { description: 'Switching Protocols: the WebSocket is open' } },
    errors: ['SERVICE_UNAVAILABLE'],
  },
  {
    method: 'get', path: '/api/conversations/{id}/stream', operationId: 'streamConversation', tag: 'Realtime', summary: 'A conversation\'s messages as Server-Sent Events',
    description: 'Events `conversation_message` with `id: <seq>`; `Last-Event-ID` (or `last_event_id`) replays from that seq. '
      + 'EventSource cannot send headers: pass the stream token from `POST …/stream` as `token`.',
    params: conversationIdParams, query: conversationStreamQuery, headers: streamHeaders,
    responses: { 200: { description: 'The event stream', mediaType: 'text/event-stream' } },
    errors: ['CONVERSATION_NOT_FOUND', 'SERVICE_UNAVAILABLE'],
  },
  {
    method: 'post', path: '/api/conversations/{id}/stream', operationId: 'attachConversationStream', tag: 'Realtime', summary: 'How to follow a conversation live',
    description: 'The WebSocket subscription to send, a short-lived token limited to the conversation\'s project, and the SSE alternative. The body may be left out.',
    params: conversationIdParams, body: conversationStreamBody, bodyRequired: false,
    responses: { 200: json('How to attach', streamAttachmentResponse) },
    errors: ['CONVERSATION_NOT_FOUND'],
  },

  // Projects
  {
    method: 'get', path: '/api/projects', operationId: 'listProjects', tag: 'Projects', summary: 'List projects',
    description: 'With progress, team and health computed from their tasks and agents.',
    query: projectListQuery,
    responses: { 200: json('The projects', projectListResponse) },
  },
  {
    method: 'post', path: '/api/projects', operationId: 'createProject', tag: 'Projects', summary: 'Create a project',
    description: 'A `template` creates its starting workflow of tasks. Needs an admin, or a member of every project.',
    body: projectCreateBody,
    responses: { 201: json('The project', projectDetailResponse) },
    errors: ['CONFLICT'],
  },
  {
    method: 'get', path: '/api/projects/{project_id}', operationId: 'getProject', tag: 'Projects', summary: 'One project',
    description: 'With configuration, features, quality gates and velocity.',
    params: projectParams,
    responses: { 200: json('The project', projectDetailResponse) },
    errors: ['PROJECT_NOT_FOUND'],
  },
  {
    method: 'put', path: '/api/projects/{project_id}/features', operationId: 'updateProjectFeatures', tag: 'Projects', summary: 'Set a project\'s features and quality gates',
    params: projectParams, body: projectFeaturesBody,
    responses: { 200: json('The project, gates evaluated', projectDetailResponse) },
    errors: ['PROJECT_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/projects/{project_id}/workflow', operationId: 'getProjectWorkflow', tag: 'Projects', summary: 'A project\'s workflow',
    description: 'Stages, their dependencies, the critical path and the estimated completion.',
    params: projectParams,
    responses: { 200: json('The workflow', projectWorkflowResponse) },
    errors: ['PROJECT_NOT_FOUND'],
  },

  // Agents, tasks, blockers, decisions, events, connectors
  {
    method: 'get', path: '/api/agents', operationId: 'listAgents', tag: 'Agents', summary: 'List agents',
    query: agentListQuery,
    responses: { 200: json('The agents', agentListResponse) },
  },
  {
    method: 'get', path: '/api/agents/analytics', operationId: 'getAgentAnalytics', tag: 'Agents', summary: 'Agent analytics',
    description: 'Overview, performance and efficiency across agents (cross-project for admins; others name a project).',
    query: agentAnalyticsQuery,
    responses: { 200: json('The figures', agentAnalyticsResponse) },
  },
  {
    method: 'get', path: '/api/agents/{id}/status', operationId: 'getAgentStatus', tag: 'Agents', summary: 'One agent\'s status',
    description: 'Current task, queue, resources and health.',
    params: agentIdParams,
    responses: { 200: json('The status', agentStatusResponse) },
    errors: ['AGENT_NOT_FOUND'],
  },
  {
    method: 'post', path: '/api/agents/{id}/heartbeat', operationId: 'postAgentHeartbeat', tag: 'Agents', summary: 'An agent is alive',
    description: 'Agents call this with their ingest keys; 30 s without one makes the agent unavailable.',
    params: agentIdParams, body: heartbeatBody,
    responses: { 200: json('Received', heartbeatResponse) },
    errors: ['AGENT_NOT_FOUND', 'FORBIDDEN'],
  },
  {
    method: 'post', path: '/api/agents/{id}/commands', operationId: 'issueAgentCommand', tag: 'Agents', summary: 'Send a command to an agent',
    description: 'pause_processing, resume_processing, clear_queue, update_capabilities, request_status_report; pending until the agent acknowledges.',
    params: agentIdParams, body: commandBody,
    responses: { 202: json('Recorded as pending', commandIssuedResponse) },
    errors: ['AGENT_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/agents/{id}/commands', operationId: 'listAgentCommands', tag: 'Agents', summary: 'An agent\'s commands',
    description: 'An agent polling with status=pending receives its commands and they become delivered.',
    params: agentIdParams, query: commandListQuery,
    responses: { 200: json('The commands', commandListResponse) },
    errors: ['AGENT_NOT_FOUND'],
  },
  {
    method: 'post', path: '/api/agents/{id}/commands/{command_id}/ack', operationId: 'acknowledgeAgentCommand', tag: 'Agents', summary: 'Acknowledge a command',
    params: agentCommandParams, body: commandAckBody,
    responses: { 200: json('The command\'s status', commandUpdatedResponse) },
    errors: ['AGENT_NOT_FOUND', 'COMMAND_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/alerts', operationId: 'listAlerts', tag: 'Agents', summary: 'Alerts, newest first',
    query: alertListQuery,
    responses: { 200: json('The alerts', alertListResponse) },
  },
  {
    method: 'get', path: '/api/tasks', operationId: 'listTasks', tag: 'Tasks', summary: 'List tasks',
    query: taskListQuery,
    responses: { 200: json('A page of tasks', taskListResponse) },
  },
  {
    method: 'get', path: '/api/tasks/{id}', operationId: 'getTask', tag: 'Tasks', summary: 'One task with its dependencies, history and blockers',
    params: taskIdParams,
    responses: { 200: json('The task', taskDetailResponse) },
    errors: ['TASK_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/blockers', operationId: 'listBlockers', tag: 'Tasks', summary: 'List blockers',
    query: blockerListQuery,
    responses: { 200: json('A page of blockers', blockerListResponse) },
  },
  {
    method: 'get', path: '/api/decisions', operationId: 'listDecisions', tag: 'Tasks', summary: 'List decisions',
    query: decisionListQuery,
    responses: { 200: json('A page of decisions', decisionListResponse) },
  },
  {
    method: 'get', path: '/api/events', operationId: 'listEvents', tag: 'Events', summary: 'The ordered event log',
    description: 'Oldest first after `since_seq`; page with `since_seq` = the previous page\'s `next_seq`.',
    query: eventListQuery,
    responses: { 200: json('A page of events', eventListResponse) },
  },
  {
    method: 'get', path: '/api/events/stats', operationId: 'getEventStats', tag: 'Events', summary: 'Events by kind',
    query: eventStatsQuery,
    responses: { 200: json('Counts', eventStatsResponse) },
  },
  {
    method: 'get', path: '/api/connectors', operationId: 'listConnectors', tag: 'Connectors', summary: 'What each connector has read',
    responses: { 200: json('The running connectors', connectorListResponse) },
  },

  // Pipelines
  {
    method: 'get', path: '/api/pipelines', operationId: 'listPipelines', tag: 'Pipelines', summary: 'List pipelines',
    description: 'Each with its latest run\'s stages (status, duration, progress, agent) and metrics from its runs.',
    query: pipelineListQuery,
    responses: { 200: json('The pipelines', pipelineListResponse) },
  },
  {
    method: 'post', path: '/api/pipelines', operationId: 'definePipeline', tag: 'Pipelines', summary: 'Define a pipeline',
    description: 'Stages form a DAG (`depends_on`); each names an `agent_id` or a `capability`. Unknown dependencies and cycles are refused. '
      + '`notification_targets` configure the channels (webhook URL and HMAC secret, Slack incoming-webhook URL, email recipients when SMTP is configured); secrets are never shown again.',
    body: pipelineCreateBody,
    responses: { 201: json('The pipeline', pipelineDetailResponse) },
    errors: ['CONFLICT'],
  },
  {
    method: 'get', path: '/api/pipelines/{id}', operationId: 'getPipeline', tag: 'Pipelines', summary: 'One pipeline with its recent runs',
    params: pipelineParams,
    responses: { 200: json('The pipeline', pipelineDetailResponse) },
    errors: ['PIPELINE_NOT_FOUND'],
  },
  {
    method: 'post', path: '/api/pipelines/{id}/execute', operationId: 'executePipeline', tag: 'Pipelines', summary: 'Run a pipeline',
    description: 'Stages whose dependencies completed become tasks assigned to a capable agent. `notifications` choose configured channels per outcome (default: every configured channel on both).',
    params: pipelineParams, body: pipelineExecuteBody,
    responses: { 201: json('The run', pipelineRunResponse) },
    errors: ['PIPELINE_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/pipelines/{id}/visualization', operationId: 'getPipelineVisualization', tag: 'Pipelines', summary: 'The pipeline as a laid-out diagram',
    description: 'Nodes positioned by dagre (layered, left to right), dependency edges, statuses of a run (default: the latest) and its execution path.',
    params: pipelineParams, query: pipelineVisualizationQuery,
    responses: { 200: json('The diagram', pipelineVisualizationResponse) },
    errors: ['PIPELINE_NOT_FOUND', 'PIPELINE_RUN_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/pipelines/{id}/deliveries', operationId: 'listPipelineDeliveries', tag: 'Pipelines', summary: 'The notification delivery log',
    params: pipelineParams, query: pipelineDeliveriesQuery,
    responses: { 200: json('Every delivery attempt, newest first', pipelineDeliveriesResponse) },
    errors: ['PIPELINE_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/pipelines/{id}/runs/{run_id}', operationId: 'getPipelineRun', tag: 'Pipelines', summary: 'One run with its stages',
    params: pipelineRunParams,
    responses: { 200: json('The run', pipelineRunResponse) },
    errors: ['PIPELINE_NOT_FOUND', 'PIPELINE_RUN_NOT_FOUND'],
  },
  {
    method: 'post', path: '/api/pipelines/{id}/runs/{run_id}/cancel', operationId: 'cancelPipelineRun', tag: 'Pipelines', summary: 'Cancel a running run',
    description: 'Its open stages and their tasks are cancelled. The body may be left out.',
    params: pipelineRunParams, body: pipelineCancelBody, bodyRequired: false,
    responses: { 200: json('The run', pipelineRunResponse) },
    errors: ['PIPELINE_NOT_FOUND', 'PIPELINE_RUN_NOT_FOUND', 'CONFLICT'],
  },
  {
    method: 'post', path: '/api/pipelines/{id}/runs/{run_id}/retry', operationId: 'retryPipelineStage', tag: 'Pipelines', summary: 'Retry a failed stage',
    description: 'The stage and its dependants that did not complete run again (a new attempt each) in the same run; completed stages keep their results.',
    params: pipelineRunParams, body: pipelineRetryBody,
    responses: { 200: json('The run', pipelineRunResponse) },
    errors: ['PIPELINE_NOT_FOUND', 'PIPELINE_RUN_NOT_FOUND', 'CONFLICT'],
  },

  // Keys and audit
  {
    method: 'get', path: '/api/keys', operationId: 'listApiKeys', tag: 'Access', summary: 'List API keys (without secrets)',
    responses: { 200: json('Every key, revoked ones included', apiKeyListResponse) },
  },
  {
    method: 'post', path: '/api/keys', operationId: 'createApiKey', tag: 'Access', summary: 'Create an API key',
    body: keyCreateBody,
    responses: { 201: json('The key, with its secret shown this once', apiKeyCreatedResponse) },
    errors: ['CONFLICT'],
  },
  {
    method: 'delete', path: '/api/keys/{id}', operationId: 'revokeApiKey', tag: 'Access', summary: 'Revoke an API key',
    params: keyIdParams,
    responses: { 200: json('The key, now revoked; it stays listed', apiKeyRevokedResponse) },
    errors: ['KEY_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/audit', operationId: 'listAuditEntries', tag: 'Access', summary: 'The audit log',
    description: 'Writes, key changes and denied requests, newest first; page with `before_seq`.',
    query: auditQuery,
    responses: { 200: json('A page of entries', auditListResponse) },
  },
  ...costRoutes,
  ...insightRoutes,
  ...operationRoutes,
  ...dashboardRoutes,
]

// ---------------------------------------------------------------------------------------
// What follows from an entry

export type RouteSecurity = { open: true } | { open: false, access: Access, roles: Role[] }

/** A concrete path of the template, for the gateway's and the rate limiter's patterns. */
function samplePath(route: ApiRoute): string {
  return route.path.replace(/\{[^}]+\}/g, 'x')
}

/** From the gateway's table: it guards `/api` paths, except its open routes. */
export function routeSecurity(route: ApiRoute): RouteSecurity {
  const sample = samplePath(route)
  if (!sample.startsWith('/api') || openRoutes.some(r => r.test(sample))) return { open: true }
  const access = accessFor(route.method.toUpperCase(), sample)
  return { open: false, access, roles: rolesFor(access) }
}

const bodyErrors: ErrorCode[] = ['INVALID_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'VALIDATION_FAILED']

/** Every error code the route may answer with, by status, then name. */
export function routeErrors(route: ApiRoute): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.errors)
  if (!route.upgrade) {
    if (!routeSecurity(route).open) codes.add('UNAUTHORIZED').add('FORBIDDEN')
    if (policyFor(route.method.toUpperCase(), samplePath(route))) codes.add('RATE_LIMITED')
    if (route.params || route.query || route.headers) codes.add('VALIDATION_FAILED')
    if (route.body) bodyErrors.forEach(c => codes.add(c))
    codes.add('INTERNAL_ERROR')
  }
  return [...codes].sort((a, b) => errorCodes[a] - errorCodes[b] || a.localeCompare(b))
}

// ---------------------------------------------------------------------------------------
// The document

export type JsonSchema = { [key: string]: unknown }

export type OpenApiDocument = {
  openapi: '3.1.0'
  info: { title: string, version: string, description: string }
  tags: { name: string, description: string }[]
  paths: Record<string, Record<string, JsonSchema>>
  components: {
    schemas: Record<string, JsonSchema>
    securitySchemes: Record<string, JsonSchema>
    headers: Record<string, JsonSchema>
  }
}

const COMPONENTS = '#/components/schemas/'

/** zod → JSON Schema, with shared schemas (those with a `.meta({ id })`) moved to components. */
class SchemaConverter {
  readonly components: Record<string, JsonSchema> = {}

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const { $defs, ...root } = z.toJSONSchema(schema, { io }) as JsonSchema & { $defs?: Record<string, JsonSchema> }
    delete root.$schema
    for (const [id, def] of Object.entries($defs ?? {})) {
      const tidy = tidied(def) as JsonSchema
      const known = this.components[id]
      if (known && JSON.stringify(known) !== JSON.stringify(tidy)) {
        throw new Error(`OpenAPI: two different schemas are named ${id} (a schema used as input and output must read the same both ways)`)
      }
      this.components[id] = tidy
    }
    return tidied(root) as JsonSchema
  }

  /** A query, path or header parameter: an integer read from the query string is documented as one. */
  parameter(field: z.ZodType): JsonSchema {
    let inner: z.ZodType = field
    while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType
    let schema: JsonSchema
    if (inner instanceof z.ZodPipe && inner.out instanceof z.ZodNumber) {
      const { isInt, minValue, maxValue } = inner.out
      schema = tidied({ type: isInt ? 'integer' : 'number', ...(minValue === null ? {} : { minimum: minValue }), ...(maxValue === null ? {} : { maximum: maxValue }) }) as JsonSchema
    }
    else schema = this.convert(field, 'input')
    const fallback = field.safeParse(undefined)
    if (fallback.success && fallback.data !== undefined) schema.default = fallback.data
    return schema
  }
}

/** `$defs` references point into components; zod's default integer bounds (±2^53-1) are dropped. */
function tidied(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidied)
  if (typeof value !== 'object' || value === null) return value
  const out: JsonSchema = {}
  for (const [key, v] of Object.entries(value)) {
    // zod spells out the ISO-8601 grammar as a pattern; `format` says the same.
    if (key === 'pattern' && (value as JsonSchema).format === 'date-time') continue
    if ((key === 'minimum' && v === Number.MIN_SAFE_INTEGER) || (key === 'maximum' && v === Number.MAX_SAFE_INTEGER)) continue
    out[key] = key === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\//, COMPONENTS) : tidied(v)
  }
  return out
}

function eventComponentId(kind: string): string {
  return `${kind.split(/[._]/).map(w => w[0]!.toUpperCase() + w.slice(1)).join('')}Event`
}

function parameters(route: ApiRoute, schemas: SchemaConverter): JsonSchema[] {
  const list: JsonSchema[] = []
  const add = (where: 'path' | 'query' | 'header', object: z.ZodObject | undefined) => {
    for (const [name, field] of Object.entries(object?.shape ?? {}) as [string, z.ZodType][]) {
      const schema = schemas.parameter(field)
      // Said once, on the parameter.
      if (field.description && schema.description === field.description) delete schema.description
      list.push({
        name,
        in: where,
        required: where === 'path' || !field.safeParse(undefined).success,
        ...(field.description ? { description: field.description } : {}),
        schema,
      })
    }
  }
  add('path', route.params)
  add('query', route.query)
  add('header', route.headers)
  if (conditional(route)) {
    list.push({ name: 'If-None-Match', in: 'header', required: false, description: 'An ETag of an earlier answer: 304 while it is still current.', schema: { type: 'string' } })
  }
  return list
}

const requestIdHeader = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } }

/** server/plugins/03.etag.ts tags every 200 JSON answer to a GET under /api, and answers a matching If-None-Match with 304. */
function conditional(route: ApiRoute): boolean {
  return route.method === 'get' && route.path.startsWith('/api') && route.responses[200]?.schema !== undefined
}

function responses(route: ApiRoute, schemas: SchemaConverter): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {}
  for (const [status, spec] of Object.entries(route.responses) as [string, ApiResponseSpec][]) {
    const content = spec.schema
      ? { 'application/json': { schema: schemas.convert(spec.schema, 'output') } }
      : spec.mediaType ? { [spec.mediaType]: { schema: { type: 'string' } } } : undefined
    const headers = status === '200' && conditional(route) ? { ...requestIdHeader, ETag: { $ref: '#/components/headers/ETag' } } : requestIdHeader
    // A WebSocket handshake is answered by the WebSocket server, not by the HTTP middleware.
    out[status] = { description: spec.description, ...(route.upgrade ? {} : { headers }), ...(content ? { content } : {}) }
  }
  if (conditional(route)) out[304] = { description: 'Not Modified: `If-None-Match` names the current ETag', headers: requestIdHeader }
  const envelope = schemas.convert(errorEnvelope, 'output')
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of routeErrors(route)) byStatus.set(errorCodes[code], [...(byStatus.get(errorCodes[code]) ?? []), code])
  for (const [status, codes] of byStatus) {
    if (out[status]) throw new Error(`OpenAPI: ${route.operationId} documents ${status} both as an answer and as an error`)
    out[status] = {
      description: codes.join(', '),
      headers: status === 429 ? { ...requestIdHeader, 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } : requestIdHeader,
      content: {
        'application/json': {
          schema: { allOf: [envelope, { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: codes } } } } }] },
        },
      },
    }
  }
  return out
}

function operation(route: ApiRoute, schemas: SchemaConverter): JsonSchema {
  const security = routeSecurity(route)
  const who = security.open ? 'Open: no credential needed.' : `Roles: ${security.roles.join(', ')}.`
  const streamToken = !security.open && route.method === 'get' && /\/stream$/.test(route.path)
  const params = parameters(route, schemas)
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: route.description ? `${route.description}\n\n${who}` : who,
    tags: [route.tag],
    ...(params.length ? { parameters: params } : {}),
    ...(route.body
      ? { requestBody: { required: route.bodyRequired ?? true, content: { 'application/json': { schema: schemas.convert(route.body, 'input') } } } }
      : {}),
    responses: responses(route, schemas),
    security: security.open ? [] : [{ bearer: [] }, { apiKey: [] }, ...(streamToken ? [{ streamToken: [] }] : [])],
    ...(security.open ? {} : { 'x-access': security.access, 'x-roles': security.roles }),
  }
}

export function buildOpenApiDocument(routes: ApiRoute[] = apiRoutes): OpenApiDocument {
  const schemas = new SchemaConverter()
  const paths: OpenApiDocument['paths'] = {}
  for (const route of [...routes].sort((a, b) => a.path.localeCompare(b.path))) {
    const item = (paths[route.path] ??= {})
    if (item[route.method]) throw new Error(`OpenAPI: ${route.method.toUpperCase()} ${route.path} is registered twice`)
    item[route.method] = operation(route, schemas)
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Seneca',
      version: pkg.version,
      description: 'Observability and control plane for teams of AI agents. Every `/api` route except the open ones needs a credential: '
        + '`Authorization: Bearer <JWT or API key>` or `X-API-Key`. Every answer carries `X-Request-Id` (yours, if well-formed); '
        + 'every error is the `Error` envelope with a stable code. Unknown routes answer `404 ROUTE_NOT_FOUND`. '
        + 'Rate-limited answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; a refusal is `429 RATE_LIMITED` with `Retry-After`.',
    },
    tags: tags.map(t => ({ ...t })),
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas.components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT (HS256 with the instance\'s secret) or an API key (`sk_…`).' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (`sk_…`).' },
        streamToken: { type: 'apiKey', in: 'query', name: 'token', description: 'The short-lived stream token from `POST /api/conversations/{id}/stream` (EventSource cannot send headers).' },
      },
      headers: {
        RequestId: { description: 'The request id: the client\'s `X-Request-Id` when well-formed, else generated.', schema: { type: 'string' } },
        ETag: { description: 'A weak tag over the body; send it back as `If-None-Match`.', schema: { type: 'string' } },
        RetryAfter: { description: 'Seconds until the rate-limit window resets.', schema: { type: 'integer', minimum: 0 } },
      },
    },
  }
}

let cached: OpenApiDocument | undefined

/** Built on first use and kept: the routes cannot change while the process runs. */
export function openApiDocument(): OpenApiDocument {
  return (cached ??= buildOpenApiDocument())
}
