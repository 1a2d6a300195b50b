/**
 * The response bodies of every route, as zod schemas: the OpenAPI document
 * (`GET /api/openapi.json`) is generated from them, the API tests parse real answers with
 * them, and the response types in shared/ are inferred from them. A schema with a
 * `.meta({ id })` becomes a named component of the document.
 */
import { z } from 'zod'
import { errorCodes, type ErrorCode } from './errors'
import { agentStatuses, eventKinds, pipelineStageStatuses, severities, taskStatuses, type EventKind } from './events'
import { realtimeChannels } from './realtime'

/** Times in responses are ISO-8601 UTC (`2025-07-14T09:00:00.000Z`). */
const time = z.iso.datetime()
const count = z.number().int().min(0)
const json = z.record(z.string(), z.unknown())

// ---------------------------------------------------------------------------------------
// Errors

export const errorEnvelope = z.object({
  error: z.object({
    code: z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: json,
    timestamp: time,
    request_id: z.string(),
  }),
}).meta({ id: 'Error', description: 'Every error, validation failures and unknown routes included; the code is stable, the message is for people.' })

// ---------------------------------------------------------------------------------------
// Conversations

export const conversationStatus = z.enum(['active', 'idle', 'closed'])

export const conversationSchema = z.object({
  id: z.string(),
  agent_id: z.string().nullable(),
  project_id: z.string(),
  started_at: time,
  status: conversationStatus.describe('`closed` when closed explicitly, else `active` within the idle window of the last message, else `idle`.'),
  message_count: count,
  last_activity: time,
  participants: z.array(z.string()),
  type: z.string(),
  title: z.string().nullable(),
  error_count: count,
}).meta({ id: 'Conversation' })

export const conversationListResponse = z.object({
  conversations: z.array(conversationSchema),
  total: count.describe('Every conversation matching the filters (not only those after the cursor).'),
  has_more: z.boolean(),
  next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; set whenever `has_more`.'),
}).meta({ id: 'ConversationList' })

export const conversationMessageSchema = z.object({
  id: z.string(),
  conversation_id: z.string(),
  sender: z.string(),
  recipient: z.string().nullable(),
  content: z.string(),
  timestamp: time,
  message_type: z.string(),
  metadata: json,
  response_time_ms: z.number().nullable().describe('Milliseconds since the message this one answers, when it answers one.'),
}).meta({ id: 'Message' })

export const messageListResponse = z.object({
  messages: z.array(conversationMessageSchema).describe('Chronological (oldest first) within the page.'),
  has_more: z.boolean().describe('More messages exist beyond the page in the paging direction (older for `before` or no cursor, newer for `after`).'),
}).meta({ id: 'MessageList' })

export const conversationAnalyticsResponse = z.object({
  total_conversations: count,
  active_conversations: count,
  avg_response_time: z.number().nullable().describe('Seconds, mean over request→response pairs; null when there are none.'),
  peak_hours: z.array(z.string()).describe('UTC hour ranges, `HH:00-HH:00`, end exclusive.'),
  top_agents: z.array(z.object({ agent_id: z.string(), conversation_count: count, message_count: count })),
  error_rate: z.number().nullable().describe('Error messages / messages; null when there are no messages.'),
  total_messages: count,
}).meta({ id: 'ConversationAnalytics' })

export const conversationBatchResult = z.object({
  id: z.string(),
  status: z.enum(['found', 'not_found']),
  conversation: conversationSchema.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
})

export const conversationBatchResponse = z.object({
  results: z.array(conversationBatchResult).describe('One per requested id, in request order.'),
}).meta({ id: 'ConversationBatch' })

export const messageSearchResult = z.object({
  message: conversationMessageSchema,
  conversation_id: z.string(),
  snippet: z.string().describe('HTML-safe excerpt: the content is escaped, matches are wrapped in `<mark>`.'),
})

export const messageSearchResponse = z.object({
  results: z.array(messageSearchResult),
  total: count.describe('Matches (within the searched window when `partial`).'),
  has_more: z.boolean(),
  mode: z.enum(['fulltext', 'substring']).describe('`fulltext` (FTS5) or `substring` (scripts written without spaces, e.g. Chinese, Japanese).'),
  partial: z.boolean().describe('The search stopped early (the newest 50,000 matching or 100,000 scanned messages); `total` is a lower bound.'),
}).meta({ id: 'MessageSearch' })

/** `POST /api/conversations/{id}/stream`: how to attach to the conversation's live messages. */
export const streamAttachmentResponse = z.object({
  conversation_id: z.string(),
  project_id: z.string(),
  real_time: z.boolean(),
  mode: z.enum(['live', 'historical']),
  websocket_url: z.string().nullable().describe('`/api/ws` with the stream token; null without `real_time`.'),
  sse_url: z.string().nullable().describe('The Server-Sent Events alternative; null without `real_time`.'),
  subscription: z.object({
    channels: z.array(z.enum(realtimeChannels)),
    filters: z.object({
      conversation_id: z.array(z.string()),
      message_types: z.array(z.string()).optional(),
      include_metadata: z.boolean().optional(),
    }),
  }).describe('The `subscribe` message to send over the WebSocket.'),
  stream_token: z.string().nullable().describe('A short-lived token limited to the conversation\'s project.'),
  expires_at: time.nullable(),
  history_url: z.string(),
}).meta({ id: 'StreamAttachment' })

// ---------------------------------------------------------------------------------------
// Ingest

export const ingestResult = z.object({
  id: z.string().nullable(),
  status: z.enum(['stored', 'duplicate', 'rejected']),
  seq: z.number().int().optional().describe('The event\'s position in the log, when stored.'),
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }).optional(),
})

export const ingestResponse = z.object({
  results: z.array(ingestResult).describe('One per event, in request order.'),
  stored: count,
  duplicates: count,
  rejected: count,
}).meta({ id: 'IngestResult' })

// ---------------------------------------------------------------------------------------
// Agents, tasks, blockers, decisions, the event log

export const agentSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string().nullable(),
  project_id: z.string(),
  status: z.enum(agentStatuses),
  status_reason: z.string().nullable(),
  current_task: z.string().nullable(),
  performance: z.object({
    tasks_completed: count,
    avg_response_time: z.number().nullable().describe('Seconds, over the request→response pairs of the agent\'s conversations.'),
    success_rate: z.number().nullable(),
    last_active: time,
  }),
  capabilities: z.array(z.string()),
  load: z.number().describe('Reported by heartbeats; otherwise 1 while the agent holds a task, 0 when it holds none.'),
  last_heartbeat: time.nullable(),
  registered_at: time,
  error_count: count,
}).meta({ id: 'Agent' })

export const agentListResponse = z.object({ agents: z.array(agentSchema), total: count }).meta({ id: 'AgentList' })

export const agentStatusResponse = z.object({
  agent_id: z.string(),
  name: z.string(),
  project_id: z.string(),
  status: z.enum(agentStatuses),
  status_reason: z.string().nullable(),
  paused: z.boolean(),
  current_task: z.object({
    id: z.string(),
    description: z.string(),
    status: z.enum(taskStatuses),
    started_at: time.nullable(),
    progress: z.number().min(0).max(1),
    estimated_completion: time.nullable(),
  }).nullable(),
  queue: z.object({
    pending_tasks: count,
    task_ids: z.array(z.string()),
    estimated_wait_time: z.number().nullable().describe('Seconds until queued work could start (what is left of the current task).'),
    queued_work_seconds: count,
    pending_commands: count,
  }),
  resources: z.object({
    cpu_usage: z.number().nullable(),
    memory_usage: z.number().nullable(),
    active_connections: z.number().nullable(),
    load: z.number(),
  }),
  health: z.object({
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    last_heartbeat: time.nullable(),
    last_active: time,
    error_count: count,
    warnings: z.array(z.string()),
  }),
}).meta({ id: 'AgentStatus' })

export const agentAnalyticsResponse = z.object({
  overview: z.object({
    total_agents: count, active_agents: count, idle_agents: count, overloaded_agents: count,
    degraded_agents: count, unavailable_agents: count, paused_agents: count,
  }),
  performance: z.object({
    avg_response_time: z.number().nullable().describe('Seconds, mean over request→response pairs answered by agents.'),
    total_tasks_completed: count,
    current_throughput: count.describe('Tasks completed in the last hour.'),
    peak_throughput: count.describe('Most tasks completed in one clock hour.'),
    total_errors: count,
  }),
  efficiency: z.object({
    resource_utilization: z.number().min(0).max(1),
    load_distribution: z.enum(['idle', 'balanced', 'uneven']),
    mean_open_tasks: z.number(),
    bottlenecks: z.array(z.object({ agent_id: z.string(), reason: z.string() })),
  }),
}).meta({ id: 'AgentAnalytics' })

export const heartbeatResponse = z.object({
  agent_id: z.string(), received: z.literal(true), seq: z.number().int().nullable(), status: z.enum(agentStatuses),
}).meta({ id: 'HeartbeatReceipt' })

const commandStatus = z.enum(['pending', 'delivered', 'acknowledged', 'failed', 'expired'])

export const commandSchema = z.object({
  command_id: z.string(),
  agent_id: z.string(),
  project_id: z.string(),
  command: z.string(),
  parameters: json,
  status: commandStatus,
  issued_by: z.string().nullable(),
  result: json.nullable(),
  created_at: time,
  updated_at: time,
  expires_at: time.nullable(),
}).meta({ id: 'AgentCommand' })

export const commandListResponse = z.object({ agent_id: z.string(), commands: z.array(commandSchema) }).meta({ id: 'AgentCommandList' })
export const commandIssuedResponse = z.object({
  command_id: z.string(), agent_id: z.string(), project_id: z.string(), command: z.string(), status: z.literal('pending'), seq: z.number().int(),
}).meta({ id: 'AgentCommandIssued' })
export const commandUpdatedResponse = z.object({
  command_id: z.string(), agent_id: z.string(), status: z.string(), seq: z.number().int().nullable(),
}).meta({ id: 'AgentCommandUpdated' })

export const alertListResponse = z.object({
  alerts: z.array(z.object({
    id: z.string(), project_id: z.string(), severity: z.enum(['info', 'warning', 'error', 'critical']), type: z.string(), message: z.string(),
    subject_id: z.string().nullable(), details: json, timestamp: time, acknowledged_at: time.nullable(),
  })),
  total: count,
}).meta({ id: 'AlertList' })

export const blockerSchema = z.object({
  id: z.string(),
  project_id: z.string(),
  task_id: z.string().nullable(),
  agent_id: z.string().nullable(),
  severity: z.enum(severities),
  description: z.string(),
  suggested_solutions: z.array(z.string()),
  status: z.enum(['open', 'resolved']),
  reported_at: time,
  resolved_at: time.nullable(),
  resolution: z.string().nullable(),
}).meta({ id: 'Blocker' })

export const taskSchema = z.object({
  id: z.string(),
  project_id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  status: z.enum(taskStatuses),
  priority: z.string().nullable(),
  assigned_agent_id: z.string().nullable(),
  progress: z.number().min(0).max(1),
  estimated_hours: z.number().nullable(),
  labels: z.array(z.string()),
  depends_on: z.array(z.string()),
  created_at: time,
  started_at: time.nullable(),
  completed_at: time.nullable(),
  due_at: time.nullable(),
  updated_at: time,
}).meta({ id: 'Task' })

export const taskListResponse = z.object({ tasks: z.array(taskSchema), total: count, has_more: z.boolean() }).meta({ id: 'TaskList' })

export const taskDetailResponse = taskSchema.extend({
  dependents: z.array(z.string()).describe('Tasks that depend on this one.'),
  history: z.array(z.object({
    action: z.string(),
    agent_id: z.string().nullable(),
    status: z.string().nullable(),
    progress: z.number().nullable(),
    note: z.string().nullable(),
    timestamp: time,
  })).describe('Assignments, progress and blocks, oldest first.'),
  blockers: z.array(blockerSchema),
}).meta({ id: 'TaskDetail' })

export const blockerListResponse = z.object({ blockers: z.array(blockerSchema), total: count, has_more: z.boolean() }).meta({ id: 'BlockerList' })

export const decisionSchema = z.object({
  id: z.string(),
  project_id: z.string(),
  agent_id: z.string().nullable(),
  task_id: z.string().nullable(),
  decision: z.string(),
  rationale: z.string().nullable(),
  alternatives: z.array(z.unknown()),
  confidence: z.number().nullable(),
  factors: json,
  timestamp: time,
}).meta({ id: 'Decision' })

export const decisionListResponse = z.object({ decisions: z.array(decisionSchema), total: count, has_more: z.boolean() }).meta({ id: 'DecisionList' })

export const logEventSchema = z.object({
  seq: z.number().int().min(1),
  id: z.string(),
  kind: z.enum(eventKinds as [EventKind, ...EventKind[]]),
  project_id: z.string(),
  ts: time.describe('When the fact happened.'),
  received_at: time.describe('When Seneca stored it.'),
  source: z.string().describe('`api`, `api:<key id>`, `marcus-log`, …'),
  payload: json.describe('The event as validated, with its id, ts and project_id filled in.'),
}).meta({ id: 'LogEvent' })

export const eventListResponse = z.object({
  events: z.array(logEventSchema),
  next_seq: count.describe('Pass as `since_seq` for the next page.'),
  has_more: z.boolean(),
}).meta({ id: 'EventList' })

export const eventStatsResponse = z.object({
  total: count,
  last_seq: count,
  by_kind: z.record(z.string(), count),
  generic_by_type: z.record(z.string(), count).describe('Generic events by the source\'s own record type.'),
}).meta({ id: 'EventStats' })

export const connectorListResponse = z.object({
  connectors: z.array(z.object({
    name: z.literal('marcus-log'),
    root: z.string().describe('The Marcus `logs/` folder.'),
    files: z.array(z.object({
      path: z.string(),
      kind: z.enum(['conversations', 'decisions', 'realtime', 'agent_events', 'pipeline']),
      offset: count,
      size: count,
    })),
    lines: count,
    duplicate_lines: count.describe('Lines skipped because the same record had just been read from another file.'),
    records: z.record(z.string(), count),
    malformed: count,
    unknown: count,
    events_stored: count,
    events_duplicate: count,
    events_rejected: count,
    project_id: z.string().nullable(),
    last_error: z.string().nullable(),
    caught_up: z.boolean(),
  })),
}).meta({ id: 'ConnectorList' })

// ---------------------------------------------------------------------------------------
// Projects

const velocity = z.object({
  estimated_hours_per_hour: z.number().nullable().describe('Estimated hours of work completed per wall-clock hour, over recently completed tasks.'),
  estimate_ratio: z.number().nullable().describe('Actual ÷ estimated duration of completed tasks (1.0: estimates hold).'),
  completed_in_window: count,
})

export const projectSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  status: z.enum(['active', 'paused', 'completed', 'archived']),
  template: z.string().nullable(),
  provider: z.string().nullable(),
  tags: z.array(z.string()),
  created_at: time,
  updated_at: time,
  due_at: time.nullable(),
  progress: z.object({
    total_tasks: count,
    completed_tasks: count,
    in_progress_tasks: count,
    blocked_tasks: count,
    completion_percentage: z.number().min(0).max(1).describe('Completed ÷ all tasks, 0..1.'),
  }),
  team: z.object({ total_agents: count, active_agents: count, agent_types: z.array(z.string()) }),
  health: z.object({
    status: z.enum(['healthy', 'at_risk', 'critical']),
    risk_level: z.enum(['low', 'medium', 'high', 'critical']),
    issues: z.array(z.string()),
  }),
}).meta({ id: 'Project' })

export const projectListResponse = z.object({ projects: z.array(projectSchema), total: count }).meta({ id: 'ProjectList' })

export const projectDetailResponse = projectSchema.extend({
  configuration: json,
  team_requirements: z.record(z.string(), count),
  features: json,
  quality_gates: z.object({
    gates: z.array(z.object({
      gate: z.enum(['coverage', 'complexity', 'security_scan']),
      threshold: z.union([z.number(), z.boolean()]),
      measured: z.number().nullable(),
      status: z.enum(['passed', 'failed', 'no_data']),
    })),
    measured_at: time.nullable().describe('The latest `quality.measured` event the gates were evaluated against.'),
  }),
  velocity,
}).meta({ id: 'ProjectDetail' })

export const projectWorkflowResponse = z.object({
  workflow_id: z.string(),
  project_id: z.string(),
  stages: z.array(z.object({
    id: z.string(),
    name: z.string(),
    status: z.enum(['pending', 'in_progress', 'blocked', 'completed']),
    tasks: count,
    completed_tasks: count,
    progress: z.number().min(0).max(1),
    estimated_hours: z.number(),
    duration: z.number().nullable().describe('Hours from the first start to the last completion, for finished stages.'),
    task_ids: z.array(z.string()),
  })),
  dependencies: z.array(z.object({ from: z.string(), to: z.string(), type: z.literal('finish_to_start') })),
  critical_path: z.array(z.string()).describe('The stages the critical path runs through.'),
  critical_path_tasks: z.array(z.string()),
  critical_path_hours: z.number(),
  cyclic_tasks: z.array(z.string()).describe('Tasks in a dependency cycle, left out of the critical path.'),
  remaining_hours: z.number(),
  velocity,
  estimated_completion: time.nullable(),
}).meta({ id: 'ProjectWorkflow' })

// ---------------------------------------------------------------------------------------
// Keys, audit, health

export const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string().describe('The first characters of the secret, to recognise it.'),
  role: z.enum(['admin', 'member', 'viewer', 'ingest']),
  projects: z.array(z.string()),
  created_at: time,
  created_by: z.string().nullable(),
  revoked_at: time.nullable(),
  active: z.boolean(),
}).meta({ id: 'ApiKey' })

export const apiKeyListResponse = z.object({ keys: z.array(apiKeySchema), total: count }).meta({ id: 'ApiKeyList' })

export const apiKeyCreatedResponse = apiKeySchema.extend({
  key: z.string().describe('The secret (`sk_…`): shown in this answer only.'),
}).meta({ id: 'ApiKeyCreated' })

export const apiKeyRevokedResponse = apiKeySchema.extend({
  revoked_now: z.boolean().describe('false when the key was already revoked.'),
}).meta({ id: 'ApiKeyRevoked' })

export const auditListResponse = z.object({
  entries: z.array(z.object({
    seq: z.number().int().min(1),
    timestamp: time,
    principal: z.string().nullable(),
    action: z.string(),
    project_id: z.string().nullable(),
    target: z.string().nullable(),
    result: z.enum(['success', 'failed', 'denied']),
    request_id: z.string().nullable(),
    details: json,
  })).describe('Newest first.'),
  has_more: z.boolean(),
  next_before_seq: z.number().int().nullable().describe('Pass as `before_seq` for the next page.'),
}).meta({ id: 'AuditLog' })

export const healthResponse = z.object({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  timestamp: time,
  version: z.string(),
  services: z.object({ database: z.string(), marcus: z.string(), cache: z.string() })
    .catchall(z.string())
    .describe('Each service\'s state; connectors add their own (`marcus_logs`, …).'),
}).meta({ id: 'Health' })

/** The description itself: checked loosely, the test suite checks it thoroughly. */
export const openApiDocumentResponse = z.looseObject({
  openapi: z.literal('3.1.0'),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), json),
  components: json,
})

// ---------------------------------------------------------------------------------------
// Pipelines

const pipelineStageStatus = z.enum(pipelineStageStatuses)

export const pipelineStageSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: pipelineStageStatus,
  duration: z.number().nullable().describe('Seconds: finished − started, or so far while running; null before it starts.'),
  progress: z.number().min(0).max(1),
  agent: z.string().nullable().describe('The agent doing (or that did) the stage; before that, the agent the stage names.'),
  capability: z.string().nullable(),
  depends_on: z.array(z.string()),
  task_id: z.string().nullable().describe('The task of the current attempt.'),
  attempt: count.describe('1, then one more per retry; 0 before the pipeline has run.'),
  started_at: time.nullable(),
  finished_at: time.nullable(),
  error: z.string().nullable(),
}).meta({ id: 'PipelineStage' })

export const pipelineMetricsSchema = z.object({
  total_duration: z.number().nullable().describe('Seconds: the mean of finished (completed or failed) runs; the latest run\'s while none has finished.'),
  success_rate: z.number().nullable().describe('Completed ÷ (completed + failed) runs.'),
  avg_stage_time: z.number().nullable().describe('Seconds, mean over completed stage runs.'),
  runs: count,
}).meta({ id: 'PipelineMetrics' })

const pipelineRunStatus = z.enum(['pending', 'running', 'completed', 'failed', 'cancelled'])

export const pipelineSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  project_id: z.string(),
  status: z.union([pipelineRunStatus, z.literal('idle')]).describe('The latest run\'s status; `idle` before the first run.'),
  latest_run_id: z.string().nullable(),
  stages: z.array(pipelineStageSchema).describe('As in the latest run.'),
  metrics: pipelineMetricsSchema,
  created_at: time,
  updated_at: time,
}).meta({ id: 'Pipeline' })

export const pipelineListResponse = z.object({ pipelines: z.array(pipelineSchema), total: count }).meta({ id: 'PipelineList' })

export const pipelineRunResponse = z.object({
  id: z.string(),
  pipeline_id: z.string(),
  project_id: z.string(),
  status: pipelineRunStatus,
  trigger: z.string().nullable(),
  parameters: json,
  notifications: z.record(z.string(), z.array(z.string())).describe('Channels per outcome (`on_completion`, `on_failure`).'),
  started_at: time,
  finished_at: time.nullable(),
  duration: z.number().describe('Seconds, so far while running.'),
  stages: z.array(pipelineStageSchema),
  execution_path: z.array(z.string()).describe('Stage ids in the order they ran or will run: topological, ties by start time.'),
}).meta({ id: 'PipelineRun' })

export const pipelineDetailResponse = pipelineSchema.extend({
  notification_targets: z.array(z.object({
    channel: z.enum(['webhook', 'slack', 'email']),
    url: z.string().nullable().optional().describe('A Slack URL carries a token: only its origin is shown.'),
    to: z.array(z.string()).optional(),
    secret_set: z.boolean(),
  })),
  recent_runs: z.array(pipelineRunResponse).describe('The latest 10 runs, newest first.'),
}).meta({ id: 'PipelineDetail' })

export const pipelineVisualizationResponse = z.object({
  pipeline_id: z.string(),
  run_id: z.string().nullable(),
  run_status: pipelineRunStatus.nullable(),
  nodes: z.array(z.object({
    id: z.string(),
    type: z.literal('process'),
    label: z.string(),
    position: z.object({ x: z.number(), y: z.number() }).describe('The node\'s centre, from a left-to-right layered dagre layout.'),
    status: pipelineStageStatus,
    agent: z.string().nullable(),
    progress: z.number(),
  })),
  edges: z.array(z.object({ id: z.string(), source: z.string(), target: z.string(), type: z.literal('dependency') })),
  layout: z.literal('dagre'),
  width: z.number(),
  height: z.number(),
  execution_path: z.array(z.string()),
}).meta({ id: 'PipelineVisualization' })

export const pipelineDeliveriesResponse = z.object({
  pipeline_id: z.string(),
  deliveries: z.array(z.object({
    delivery_id: z.string().describe('One notification; its attempts share it (`X-Seneca-Delivery`).'),
    attempt: z.number().int().min(1),
    run_id: z.string(),
    channel: z.string(),
    event: z.string(),
    status: z.enum(['delivered', 'retrying', 'failed']),
    status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    duration_ms: count,
    ts: time,
  })).describe('Every attempt, newest first.'),
  total: count,
}).meta({ id: 'PipelineDeliveries' })
