/**
 * Seneca's data model. One module, every domain.
 *
 * Conventions:
 * - timestamps are integer epoch milliseconds (UTC) in columns ending in `_at` or named `ts`;
 *   the API renders them as ISO-8601 strings.
 * - every row that belongs to a project carries an indexed `project_id`, because every
 *   query is scoped by the caller's projects.
 * - JSON columns are typed with `$type` and stored as text.
 * - domain tables are written only by the projections in `server/utils/projections.ts`.
 */
import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

type Json = Record<string, unknown>

/** The append-only, sequence-numbered log every fact enters through. */
export const events = sqliteTable('events', {
  /** Global order: the resume position of realtime clients. */
  seq: integer('seq').primaryKey(),
  /** Client-given or generated; a re-sent id is a no-op (idempotency). */
  id: text('id').notNull(),
  kind: text('kind').notNull(),
  projectId: text('project_id').notNull(),
  /** When the fact happened (the event's own `ts`). */
  ts: integer('ts').notNull(),
  /** When Seneca stored it. */
  receivedAt: integer('received_at').notNull(),
  /** `api`, `marcus-log`, `marcus-mcp`, … */
  source: text('source').notNull(),
  payload: text('payload', { mode: 'json' }).$type<Json>().notNull(),
}, t => [
  uniqueIndex('events_id_uq').on(t.id),
  index('events_project_seq_idx').on(t.projectId, t.seq),
])

export const projects = sqliteTable('projects', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  status: text('status').$type<'active' | 'paused' | 'completed' | 'archived'>().notNull().default('active'),
  provider: text('provider'),
  template: text('template'),
  configuration: text('configuration', { mode: 'json' }).$type<Json>(),
  teamRequirements: text('team_requirements', { mode: 'json' }).$type<Json>(),
  features: text('features', { mode: 'json' }).$type<Json>(),
  tags: text('tags', { mode: 'json' }).$type<string[]>(),
  /** The delivery date schedule risk is measured against. */
  dueAt: integer('due_at'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

export const agents = sqliteTable('agents', {
  id: text('id').primaryKey(),
  /** The project the agent last worked in. */
  projectId: text('project_id').notNull(),
  name: text('name').notNull(),
  /** Free text role or type (`Backend Developer`, `specialist`). */
  type: text('type'),
  capabilities: text('capabilities', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
  status: text('status').$type<'active' | 'idle' | 'busy' | 'paused' | 'degraded' | 'unavailable'>().notNull().default('idle'),
  statusReason: text('status_reason'),
  currentTaskId: text('current_task_id'),
  /** Paused by an operator command: gets no new work. */
  paused: integer('paused', { mode: 'boolean' }).notNull().default(false),
  registeredAt: integer('registered_at').notNull(),
  lastHeartbeatAt: integer('last_heartbeat_at'),
  /** Last record of any kind naming the agent. */
  lastActiveAt: integer('last_active_at').notNull(),
  tasksCompleted: integer('tasks_completed').notNull().default(0),
  tasksFailed: integer('tasks_failed').notNull().default(0),
  errorCount: integer('error_count').notNull().default(0),
  /** `agent` (a worker) or `coordinator` (Marcus itself) or `system` (a board, a tool). */
  kind: text('kind').notNull().default('agent'),
  metadata: text('metadata', { mode: 'json' }).$type<Json>(),
}, t => [
  index('agents_project_idx').on(t.projectId, t.status),
])

export const conversations = sqliteTable('conversations', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  /** The main participant other than the coordinator (a worker), if any. */
  agentId: text('agent_id'),
  participants: text('participants', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
  /** `worker`, `coordinator`, `board`, `direct`, … */
  type: text('type').notNull().default('direct'),
  title: text('title'),
  /** Closed explicitly; otherwise active/idle is derived from last_activity at read time. */
  closedAt: integer('closed_at'),
  startedAt: integer('started_at').notNull(),
  lastActivity: integer('last_activity').notNull(),
  messageCount: integer('message_count').notNull().default(0),
  errorCount: integer('error_count').notNull().default(0),
  /** Sender and time of the newest message still waiting for an answer (response-time pairing). */
  pendingSender: text('pending_sender'),
  pendingAt: integer('pending_at'),
}, t => [
  index('conversations_project_activity_idx').on(t.projectId, t.lastActivity, t.id),
  // Covering for the list pages (newest activity first, by offset or keyset cursor): a page is
  // read from the index alone, without a table look-up per row.
  index('conversations_activity_cover_idx').on(t.lastActivity, t.id, t.projectId, t.agentId, t.startedAt, t.closedAt, t.messageCount,
    t.errorCount, t.type, t.title, t.participants),
  index('conversations_agent_activity_idx').on(t.agentId, t.lastActivity, t.id),
  index('conversations_project_agent_idx').on(t.projectId, t.agentId),
])

/** Who takes part in a conversation: the agent filter of the conversation list reads this. */
export const conversationParticipants = sqliteTable('conversation_participants', {
  participant: text('participant').notNull(),
  conversationId: text('conversation_id').notNull(),
  projectId: text('project_id').notNull(),
}, t => [
  primaryKey({ columns: [t.participant, t.conversationId] }),
  index('conversation_participants_conv_idx').on(t.conversationId),
])

export const messages = sqliteTable('messages', {
  /** Insertion order; also the FTS5 rowid. */
  seq: integer('seq').primaryKey(),
  id: text('id').notNull(),
  conversationId: text('conversation_id').notNull(),
  projectId: text('project_id').notNull(),
  sender: text('sender').notNull(),
  recipient: text('recipient'),
  content: text('content').notNull(),
  /** `request`, `response`, `error`, `status`, `thinking`, `decision`, `assignment`, `progress`, `blocker`, … */
  messageType: text('message_type').notNull(),
  ts: integer('ts').notNull(),
  metadata: text('metadata', { mode: 'json' }).$type<Json>(),
  /** Milliseconds since the message this one answers (request→response pairing). */
  responseTimeMs: integer('response_time_ms'),
  /** The event that produced the message. */
  eventSeq: integer('event_seq').notNull(),
}, t => [
  uniqueIndex('messages_id_uq').on(t.id),
  index('messages_conversation_ts_idx').on(t.conversationId, t.ts, t.seq),
  index('messages_sender_ts_idx').on(t.sender, t.ts),
])

/** How far the full-text index has caught up with `messages` (indexed in batches after commit). */
export const ftsState = sqliteTable('fts_state', {
  name: text('name').primaryKey(),
  indexedSeq: integer('indexed_seq').notNull(),
})

/**
 * Hourly message rollups per project and agent, kept by the projection so analytics never
 * scan messages. `agent_id` is '' for messages that name no agent.
 */
export const messageRollups = sqliteTable('message_rollups', {
  projectId: text('project_id').notNull(),
  agentId: text('agent_id').notNull(),
  /** Start of the UTC hour, epoch ms. */
  hour: integer('hour').notNull(),
  messages: integer('messages').notNull().default(0),
  errors: integer('errors').notNull().default(0),
  responses: integer('responses').notNull().default(0),
  responseMsSum: integer('response_ms_sum').notNull().default(0),
}, t => [
  primaryKey({ columns: [t.projectId, t.hour, t.agentId] }),
  index('message_rollups_hour_idx').on(t.hour),
  // Covering for an agent's messages over a range of hours (the analytics window's top agents):
  // one index range per agent, without a table look-up per hour.
  index('message_rollups_agent_hour_idx').on(t.agentId, t.hour, t.projectId, t.messages),
])

export const tasks = sqliteTable('tasks', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  name: text('name').notNull(),
  description: text('description'),
  status: text('status').$type<'todo' | 'in_progress' | 'blocked' | 'done' | 'failed' | 'cancelled'>().notNull().default('todo'),
  priority: text('priority'),
  assignedAgentId: text('assigned_agent_id'),
  /** 0..1 */
  progress: real('progress').notNull().default(0),
  estimatedHours: real('estimated_hours'),
  labels: text('labels', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
  /** Set when the task belongs to a pipeline run stage. */
  pipelineRunId: text('pipeline_run_id'),
  createdAt: integer('created_at').notNull(),
  startedAt: integer('started_at'),
  completedAt: integer('completed_at'),
  dueAt: integer('due_at'),
  updatedAt: integer('updated_at').notNull(),
}, t => [
  index('tasks_project_status_idx').on(t.projectId, t.status),
  index('tasks_agent_idx').on(t.assignedAgentId, t.status),
])

export const taskDependencies = sqliteTable('task_dependencies', {
  taskId: text('task_id').notNull(),
  dependsOn: text('depends_on').notNull(),
  projectId: text('project_id').notNull(),
}, t => [
  primaryKey({ columns: [t.taskId, t.dependsOn] }),
  index('task_dependencies_dep_idx').on(t.dependsOn),
])

/** What happened to a task over time: assignments, progress, blocks, re-queues. */
export const taskHistory = sqliteTable('task_history', {
  seq: integer('seq').primaryKey(),
  taskId: text('task_id').notNull(),
  projectId: text('project_id').notNull(),
  agentId: text('agent_id'),
  action: text('action').notNull(),
  status: text('status'),
  progress: real('progress'),
  note: text('note'),
  ts: integer('ts').notNull(),
  eventSeq: integer('event_seq').notNull(),
}, t => [
  index('task_history_task_idx').on(t.taskId, t.ts),
  index('task_history_agent_idx').on(t.agentId, t.ts),
])

export const blockers = sqliteTable('blockers', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  taskId: text('task_id'),
  agentId: text('agent_id'),
  severity: text('severity').$type<'low' | 'medium' | 'high' | 'critical'>().notNull().default('medium'),
  description: text('description').notNull(),
  suggestedSolutions: text('suggested_solutions', { mode: 'json' }).$type<string[]>(),
  status: text('status').$type<'open' | 'resolved'>().notNull().default('open'),
  reportedAt: integer('reported_at').notNull(),
  resolvedAt: integer('resolved_at'),
  resolution: text('resolution'),
}, t => [
  index('blockers_project_status_idx').on(t.projectId, t.status),
  index('blockers_task_idx').on(t.taskId),
])

export const decisions = sqliteTable('decisions', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  agentId: text('agent_id'),
  taskId: text('task_id'),
  decision: text('decision').notNull(),
  rationale: text('rationale'),
  alternatives: text('alternatives', { mode: 'json' }).$type<unknown[]>(),
  confidence: real('confidence'),
  factors: text('factors', { mode: 'json' }).$type<Json>(),
  ts: integer('ts').notNull(),
}, t => [
  index('decisions_project_ts_idx').on(t.projectId, t.ts),
  index('decisions_task_idx').on(t.taskId),
])

export const artifacts = sqliteTable('artifacts', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  taskId: text('task_id'),
  agentId: text('agent_id'),
  name: text('name').notNull(),
  artifactType: text('artifact_type'),
  location: text('location'),
  description: text('description'),
  ts: integer('ts').notNull(),
}, t => [
  index('artifacts_project_idx').on(t.projectId, t.ts),
  index('artifacts_task_idx').on(t.taskId),
])

export const pipelines = sqliteTable('pipelines', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  name: text('name').notNull(),
  description: text('description'),
  /** [{id, name, agent?, capability?, depends_on: []}] */
  stages: text('stages', { mode: 'json' }).$type<Json[]>().notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
}, t => [index('pipelines_project_idx').on(t.projectId)])

export const pipelineRuns = sqliteTable('pipeline_runs', {
  id: text('id').primaryKey(),
  pipelineId: text('pipeline_id').notNull(),
  projectId: text('project_id').notNull(),
  status: text('status').$type<'pending' | 'running' | 'completed' | 'failed' | 'cancelled'>().notNull(),
  trigger: text('trigger'),
  parameters: text('parameters', { mode: 'json' }).$type<Json>(),
  notifications: text('notifications', { mode: 'json' }).$type<Json>(),
  startedAt: integer('started_at').notNull(),
  finishedAt: integer('finished_at'),
}, t => [index('pipeline_runs_pipeline_idx').on(t.pipelineId, t.startedAt)])

export const pipelineStageRuns = sqliteTable('pipeline_stage_runs', {
  runId: text('run_id').notNull(),
  stageId: text('stage_id').notNull(),
  projectId: text('project_id').notNull(),
  status: text('status').$type<'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled'>().notNull(),
  agentId: text('agent_id'),
  taskId: text('task_id'),
  progress: real('progress').notNull().default(0),
  startedAt: integer('started_at'),
  finishedAt: integer('finished_at'),
  error: text('error'),
  /** 1, then one more for each retry of the stage (each attempt has its own task). */
  attempt: integer('attempt').notNull().default(1),
}, t => [primaryKey({ columns: [t.runId, t.stageId] }), index('pipeline_stage_runs_task_idx').on(t.taskId)])

/**
 * Where a pipeline's notifications go, per channel (`webhook`, `slack`, `email`). Operator
 * configuration, like API keys: written by the pipelines module, never sent through the event
 * log (it holds secrets, and the log is readable by every member of the project).
 */
export const pipelineNotificationTargets = sqliteTable('pipeline_notification_targets', {
  pipelineId: text('pipeline_id').notNull(),
  channel: text('channel').$type<'webhook' | 'slack' | 'email'>().notNull(),
  projectId: text('project_id').notNull(),
  /** webhook: {url, secret}; slack: {url}; email: {to: []}. */
  config: text('config', { mode: 'json' }).$type<Json>().notNull(),
  createdAt: integer('created_at').notNull(),
}, t => [primaryKey({ columns: [t.pipelineId, t.channel] })])

/** Every attempt to deliver a pipeline notification: the delivery log. */
export const notificationDeliveries = sqliteTable('notification_deliveries', {
  seq: integer('seq').primaryKey(),
  /** One notification; its attempts share it (sent as `X-Seneca-Delivery`). */
  deliveryId: text('delivery_id').notNull(),
  attempt: integer('attempt').notNull(),
  projectId: text('project_id').notNull(),
  pipelineId: text('pipeline_id').notNull(),
  runId: text('run_id').notNull(),
  channel: text('channel').notNull(),
  /** `pipeline.run.completed` or `pipeline.run.failed`. */
  event: text('event').notNull(),
  /** `delivered`, `retrying` (failed, another attempt follows) or `failed` (the last attempt failed). */
  status: text('status').$type<'delivered' | 'retrying' | 'failed'>().notNull(),
  statusCode: integer('status_code'),
  error: text('error'),
  durationMs: integer('duration_ms').notNull(),
  ts: integer('ts').notNull(),
}, t => [index('notification_deliveries_pipeline_idx').on(t.pipelineId, t.seq), uniqueIndex('notification_deliveries_attempt_uq').on(t.deliveryId, t.attempt)])

export const agentCommands = sqliteTable('agent_commands', {
  id: text('id').primaryKey(),
  agentId: text('agent_id').notNull(),
  projectId: text('project_id').notNull(),
  command: text('command').notNull(),
  parameters: text('parameters', { mode: 'json' }).$type<Json>(),
  status: text('status').$type<'pending' | 'delivered' | 'acknowledged' | 'failed' | 'expired'>().notNull(),
  issuedBy: text('issued_by'),
  result: text('result', { mode: 'json' }).$type<Json>(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  expiresAt: integer('expires_at'),
}, t => [index('agent_commands_agent_status_idx').on(t.agentId, t.status)])

/* cost_events, model_prices and budgets: schema-costs.ts. */

export const alerts = sqliteTable('alerts', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  severity: text('severity').$type<'info' | 'warning' | 'error' | 'critical'>().notNull(),
  /** `agent_unavailable`, `budget_warning`, … */
  type: text('type').notNull(),
  message: text('message').notNull(),
  subjectId: text('subject_id'),
  details: text('details', { mode: 'json' }).$type<Json>(),
  ts: integer('ts').notNull(),
  acknowledgedAt: integer('acknowledged_at'),
}, t => [index('alerts_project_ts_idx').on(t.projectId, t.ts)])

export const apiKeys = sqliteTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** SHA-256 of the secret; the secret itself is shown once. */
  keyHash: text('key_hash').notNull(),
  /** First characters of the key, to recognise it in lists. */
  prefix: text('prefix').notNull(),
  role: text('role').$type<'admin' | 'member' | 'viewer' | 'ingest'>().notNull(),
  projects: text('projects', { mode: 'json' }).$type<string[]>().notNull(),
  createdAt: integer('created_at').notNull(),
  createdBy: text('created_by'),
  lastUsedAt: integer('last_used_at'),
  revokedAt: integer('revoked_at'),
}, t => [uniqueIndex('api_keys_hash_uq').on(t.keyHash)])

export const auditLog = sqliteTable('audit_log', {
  seq: integer('seq').primaryKey(),
  ts: integer('ts').notNull(),
  principal: text('principal'),
  action: text('action').notNull(),
  projectId: text('project_id'),
  target: text('target'),
  result: text('result').notNull(),
  requestId: text('request_id'),
  details: text('details', { mode: 'json' }).$type<Json>(),
}, t => [index('audit_log_ts_idx').on(t.ts), index('audit_log_project_idx').on(t.projectId, t.ts)])

/** Connector positions: file offsets of the Marcus log tailer, MCP cursors. */
export const connectorState = sqliteTable('connector_state', {
  connector: text('connector').notNull(),
  key: text('key').notNull(),
  value: text('value', { mode: 'json' }).$type<Json>().notNull(),
  updatedAt: integer('updated_at').notNull(),
}, t => [primaryKey({ columns: [t.connector, t.key] })])

export type EventRow = typeof events.$inferSelect
export type ConversationRow = typeof conversations.$inferSelect
export type MessageRow = typeof messages.$inferSelect
export type AgentRow = typeof agents.$inferSelect
export type TaskRow = typeof tasks.$inferSelect

export * from './schema-costs'
export * from './schema-insights'
export * from './schema-operations'
export * from './schema-perf'
