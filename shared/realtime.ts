/**
 * The realtime protocol (`/api/ws` and the conversation SSE stream): the messages a client
 * may send, as zod schemas, and the shapes of what the server sends. Every frame is JSON
 * `{event, channel?, seq?, data}`; events from the event log carry their `seq`.
 * The README's "WebSocket protocol" section documents the same, with an example session.
 */
import { z } from 'zod'
import { agentCommands, eventSchemas } from './events'

/** What a client may subscribe to. */
export const realtimeChannels = ['conversations', 'agent_status', 'tasks', 'projects', 'pipelines', 'costs', 'alerts', 'agent_commands'] as const
export type RealtimeChannel = (typeof realtimeChannels)[number]

/** Older names accepted in `subscribe` (the seed's connection example says `agents`). */
export const channelAliases: Record<string, RealtimeChannel> = { agents: 'agent_status' }

/** `live` while a Marcus connection is live, else `historical` (stored data only). */
export type RealtimeMode = 'live' | 'historical'

const id = z.string().min(1).max(256)
/** One id or a list of them. */
const ids = z.union([id, z.array(id).min(1).max(1000)]).transform(v => (Array.isArray(v) ? v : [v]))
const names = z.array(z.string().min(1).max(256)).min(1).max(100)
const requestId = z.union([z.string().max(128), z.number()]).optional()

const channel = z.string().min(1).max(64)
  .transform(c => channelAliases[c] ?? c)
  .pipe(z.enum(realtimeChannels, { error: issue => `unknown channel ${JSON.stringify(issue.input)}; choose from ${realtimeChannels.join(', ')}` }))

/**
 * Narrow a subscription. A filter applies to the events that carry what it names (an alert
 * has no conversation, so `conversation_id` does not hide alerts); every event carries its
 * project, and a client only ever gets events of projects its principal may read.
 */
export const subscriptionFilters = z.object({
  project_id: ids.optional(),
  conversation_id: ids.optional(),
  /** Events naming one of these agents (sender, recipient, the agent of a task or command). */
  agent_id: ids.optional(),
  /** Events naming an agent whose `type` or one of whose `capabilities` is in the list. */
  agent_types: names.optional(),
  /** `conversation_message` events of these message types. */
  message_types: names.optional(),
  /** `false` drops `message.metadata` from conversation messages. */
  include_metadata: z.boolean().optional(),
}).strict()
export type SubscriptionFilters = z.output<typeof subscriptionFilters>

export const requestDataTypes = ['conversation_history', 'agent_status', 'project_status'] as const

/** The `data` of each client event, by event name. Unknown fields are refused, so typos surface. */
export const clientMessages = {
  auth: z.object({ token: z.string().min(1).max(8192), request_id: requestId }).strict(),
  subscribe: z.object({
    channels: z.array(channel).min(1).max(realtimeChannels.length + 1),
    filters: subscriptionFilters.optional(),
    request_id: requestId,
  }).strict(),
  /** No `channels`: every subscription. */
  unsubscribe: z.object({ channels: z.array(channel).min(1).optional(), request_id: requestId }).strict(),
  resume: z.object({ since_seq: z.number().int().min(0), request_id: requestId }).strict(),
  /** Declares what the client is looking at, for presence; both empty: looking at nothing. */
  view: z.object({ project_id: id.nullish(), conversation_id: id.nullish(), request_id: requestId }).strict(),
  request_data: z.object({
    type: z.enum(requestDataTypes),
    parameters: z.record(z.string(), z.unknown()).default({}),
    request_id: requestId,
  }).strict(),
  agent_command: z.object({
    agent_id: id,
    command: z.enum(agentCommands),
    reason: z.string().max(1024).optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    request_id: requestId,
  }).strict(),
  command_ack: z.object({
    command_id: id,
    status: z.enum(['acknowledged', 'failed']),
    result: z.record(z.string(), z.unknown()).optional(),
    request_id: requestId,
  }).strict(),
  /** An agent's report on a pipeline stage: a `pipeline.stage.updated` event without `kind`. */
  stage_progress: eventSchemas['pipeline.stage.updated'].omit({ kind: true }).extend({ request_id: requestId }).strict(),
  ping: z.object({ request_id: requestId }).strict().default({}),
} as const
export type ClientEventName = keyof typeof clientMessages
export type ClientMessage<E extends ClientEventName> = z.output<(typeof clientMessages)[E]>

/** The parameters of each `request_data` type. */
export const requestDataParameters = {
  conversation_history: z.object({
    conversation_id: id,
    limit: z.number().int().min(1).max(500).default(50),
    /** A message id: the page holds messages older than it. */
    before: id.optional(),
  }).strict(),
  agent_status: z.object({ agent_id: id.optional(), project_id: id.optional() }).strict(),
  project_status: z.object({ project_id: id }).strict(),
} as const

/** The frame around every client message. */
export const clientEnvelope = z.object({ event: z.string().min(1).max(64), data: z.unknown().optional() })

// ---------------------------------------------------------------------------------------
// What the server sends

export type ConnectionEstablished = {
  session_id: string
  server_time: string
  available_channels: RealtimeChannel[]
  mode: RealtimeMode
  /** The newest event's seq: resume from here after a drop that happened before any event arrived. */
  latest_seq: number
}

export type SubscriptionConfirmed = {
  /** The channels this request subscribed. */
  channels: RealtimeChannel[]
  /** How many channels the connection is subscribed to now. */
  active_subscriptions: number
  /** Events per second matching the connection's subscriptions over the last minute. */
  estimated_message_rate: number
  filters: SubscriptionFilters
}

export type RealtimeMessage = {
  id: string
  conversation_id: string
  sender: string
  recipient: string | null
  content: string
  message_type: string
  timestamp: string
  metadata?: Record<string, unknown>
  response_time_ms: number | null
}

/** Events from the log, each `{event, channel, seq, data}`. */
export type LogEventData = {
  conversation_message: { conversation_id: string, project_id: string, message: RealtimeMessage }
  agent_status_update: { agent_id: string, project_id: string, status: string, previous_status: string | null, task_completed?: string, reason?: string | null }
  agent_registered: { agent_id: string, project_id: string, name: string | null, type: string | null, capabilities: string[] }
  task_update: { task_id: string, project_id: string, status: string | null, agent_id: string | null, progress?: number | null, name?: string | null }
  blocker_update: { blocker_id: string | null, project_id: string, task_id: string | null, agent_id: string | null, status: 'open' | 'resolved', severity?: string, description?: string }
  project_update: { project_id: string, type: 'project' | 'decision' | 'artifact', [key: string]: unknown }
  pipeline_update: { project_id: string, kind: string, [key: string]: unknown }
  cost_update: { project_id: string, agent_id: string | null, task_id: string | null, model: string, provider: string | null, input_tokens: number, output_tokens: number, cache_read_tokens: number, cache_write_tokens: number, cost: number | null, cost_source: 'reported' | 'estimated' | 'unpriced' | null, price_id: number | null, timestamp: string }
  /** A budget crossed its warning or its limit (also sent as an `alert` on the alerts channel). */
  budget_alert: { alert_id: string, project_id: string, severity: string, type: 'budget_warning' | 'budget_exceeded', message: string, details: Record<string, unknown> | null, timestamp: string }
  alert: { alert_id: string, project_id: string, severity: string, type: string, message: string, subject_id: string | null, details: Record<string, unknown> | null, timestamp: string }
  agent_command: { command_id: string, project_id: string, agent_id: string, command: string, parameters: Record<string, unknown>, status: string, issued_by: string | null }
  command_update: { command_id: string, project_id: string, agent_id: string | null, command: string | null, status: string, result: Record<string, unknown> | null }
}
export type LogEventName = keyof LogEventData
export type LogEvent<E extends LogEventName = LogEventName> = { event: E, channel: RealtimeChannel, seq: number, data: LogEventData[E] }

export type PresenceViewer = { session_id: string, principal: string }
export type PresenceUpdate = {
  scope: { project_id: string } | { conversation_id: string }
  /** Who views the scope now (at most 100 listed). */
  viewers: PresenceViewer[]
  viewer_count: number
  /** Changes since the previous update of this scope (updates coalesce within 250 ms). */
  joined?: PresenceViewer[]
  left?: PresenceViewer[]
}

/** Control messages, `{event, data}` without a seq. */
export type ControlData = {
  connection_established: ConnectionEstablished
  subscription_confirmed: SubscriptionConfirmed
  unsubscribed: { channels: RealtimeChannel[], active_subscriptions: number }
  /** Several log events in one frame (at most one frame per 100 ms window while busy). */
  batch: { events: LogEvent[] }
  resync_required: { reason: 'too_old' | 'too_many' | 'ahead_of_server' | 'slow_consumer' | 'replay_buffer_full', latest_seq: number, since_seq?: number }
  resume_complete: { since_seq: number, replayed: number, latest_seq: number }
  presence_update: PresenceUpdate
  data_response: { type: string, request_id?: string | number, data: unknown }
  command_accepted: { command_id: string, status: string, agent_id: string, command: string, request_id?: string | number }
  command_ack_received: { command_id: string, status: string, request_id?: string | number }
  stage_progress_received: { event_id: string, status: 'stored' | 'duplicate', seq: number | null, run_id: string, stage_id: string, request_id?: string | number }
  mode_update: { mode: RealtimeMode, server_time: string }
  /**
   * The server is stopping (SIGTERM, a deploy): everything up to `latest_seq` has been sent;
   * reconnect after `retry_after_ms` with `since_seq` = the last seq received.
   */
  server_restarting: { reason: 'shutdown', latest_seq: number, retry_after_ms: number, server_time: string }
  pong: { server_time: string, request_id?: string | number }
  error: { code: string, message: string, request_id?: string | number, details?: Record<string, unknown> }
}

/** WebSocket close codes Seneca uses. */
export const closeCodes = {
  /** Missing, forged or expired credential, or no `auth` message in time. */
  unauthorized: 4401,
  /** The principal's role may not read (an `ingest` key). */
  forbidden: 4403,
  /** The client read too slowly: its send buffer filled up. Reconnect and resume. */
  slowConsumer: 4008,
  /** Too many connections (also refused with HTTP 503 before the upgrade when possible). */
  tryAgainLater: 1013,
  goingAway: 1001,
  /** The server is restarting (after `server_restarting`): reconnect and resume. */
  serviceRestart: 1012,
} as const
