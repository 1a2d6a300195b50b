/**
 * The events every fact enters Seneca through (`POST /api/ingest`, the Marcus connector, …).
 * One zod schema per kind; the ingest path validates each event on its own, so one bad
 * event never rejects its neighbours.
 */
import { z } from 'zod'
import type { ingestResponse, ingestResult } from './responses'

/** ISO-8601 string or epoch milliseconds; normalised to epoch ms. */
export const timestamp = z.union([
  z.number().int().min(0).max(8.64e15),
  z.string().max(64).refine(s => !Number.isNaN(Date.parse(s)), 'not an ISO-8601 timestamp'),
]).transform(v => (typeof v === 'number' ? v : Date.parse(v)))

const id = z.string().min(1).max(256)
const shortText = z.string().max(1024)
const json = z.record(z.string(), z.unknown())

const base = {
  /** Client-given id: a re-sent event with the same id is a no-op. */
  id: id.optional(),
  ts: timestamp.optional(),
  project_id: id.optional(),
}

export const agentStatuses = ['active', 'idle', 'busy', 'paused', 'degraded', 'unavailable'] as const
export const taskStatuses = ['todo', 'in_progress', 'blocked', 'done', 'failed', 'cancelled'] as const
export const severities = ['low', 'medium', 'high', 'critical'] as const
export const pipelineStageStatuses = ['pending', 'running', 'completed', 'failed', 'skipped', 'cancelled'] as const
export type PipelineStageStatus = (typeof pipelineStageStatuses)[number]
export const agentCommands = ['pause_processing', 'resume_processing', 'clear_queue', 'update_capabilities', 'request_status_report'] as const
export type AgentCommand = (typeof agentCommands)[number]

export const eventSchemas = {
  'project.upserted': z.object({
    ...base,
    kind: z.literal('project.upserted'),
    project_id: id,
    name: shortText.min(1),
    description: z.string().max(10_000).optional(),
    status: z.enum(['active', 'paused', 'completed', 'archived']).optional(),
    provider: shortText.optional(),
    tags: z.array(shortText).max(100).optional(),
    /** The starting workflow it was created from (`web_app`, …). */
    template: z.string().max(64).optional(),
    configuration: json.optional(),
    team_requirements: z.record(z.string(), z.number().int().min(0).max(1000)).optional(),
    /** The delivery date the schedule risk is measured against. */
    due_at: timestamp.optional(),
  }),
  'project.features.updated': z.object({
    ...base,
    kind: z.literal('project.features.updated'),
    project_id: id,
    features: json,
  }),
  'agent.registered': z.object({
    ...base,
    kind: z.literal('agent.registered'),
    agent_id: id,
    name: shortText.optional(),
    type: shortText.optional(),
    capabilities: z.array(shortText).max(200).optional(),
    metadata: json.optional(),
  }),
  'agent.heartbeat': z.object({
    ...base,
    kind: z.literal('agent.heartbeat'),
    agent_id: id,
    status: z.enum(agentStatuses).optional(),
    /** 0..1 */
    load: z.number().min(0).max(1).optional(),
    metrics: json.optional(),
  }),
  'agent.status': z.object({
    ...base,
    kind: z.literal('agent.status'),
    agent_id: id,
    status: z.enum(agentStatuses),
    reason: shortText.optional(),
  }),
  'message': z.object({
    ...base,
    kind: z.literal('message'),
    /** Omitted: the thread between sender and recipient in the project. */
    conversation_id: id.optional(),
    message_id: id.optional(),
    sender: id,
    recipient: id.optional(),
    content: z.string().max(1_000_000),
    message_type: z.string().min(1).max(64).default('message'),
    metadata: json.optional(),
    /** The message this one answers; gives an exact response time. */
    in_reply_to: id.optional(),
    /** The worker a thread is about (defaults to the sender). */
    agent_id: id.optional(),
    conversation_type: z.string().max(64).optional(),
    conversation_title: shortText.optional(),
  }),
  'task.upserted': z.object({
    ...base,
    kind: z.literal('task.upserted'),
    task_id: id,
    name: shortText.min(1).optional(),
    description: z.string().max(100_000).optional(),
    status: z.enum(taskStatuses).optional(),
    priority: z.string().max(32).optional(),
    estimated_hours: z.number().min(0).max(100_000).optional(),
    labels: z.array(shortText).max(100).optional(),
    depends_on: z.array(id).max(1000).optional(),
    /** Dependencies added to those already known (`depends_on` replaces them all). */
    also_depends_on: z.array(id).max(1000).optional(),
    due_at: timestamp.optional(),
    /** The pipeline run whose stage this task is. */
    pipeline_run_id: id.optional(),
  }),
  'task.assigned': z.object({
    ...base,
    kind: z.literal('task.assigned'),
    task_id: id,
    agent_id: id,
    task_name: shortText.optional(),
    priority: z.string().max(32).optional(),
    estimated_hours: z.number().min(0).max(100_000).optional(),
    /** Why it moved: set when Seneca re-queues the task of an unavailable agent. */
    reason: z.string().max(1000).optional(),
  }),
  'task.progress': z.object({
    ...base,
    kind: z.literal('task.progress'),
    task_id: id,
    agent_id: id.optional(),
    /** Percent, 0..100. */
    progress: z.number().min(0).max(100).optional(),
    status: z.enum([...taskStatuses, 'completed', 'in-progress']).optional(),
    message: z.string().max(100_000).optional(),
  }),
  'blocker.reported': z.object({
    ...base,
    kind: z.literal('blocker.reported'),
    blocker_id: id.optional(),
    task_id: id.optional(),
    agent_id: id.optional(),
    severity: z.enum(severities).default('medium'),
    description: z.string().min(1).max(100_000),
    suggested_solutions: z.array(z.string().max(10_000)).max(100).optional(),
  }),
  'blocker.resolved': z.object({
    ...base,
    kind: z.literal('blocker.resolved'),
    blocker_id: id.optional(),
    /** Resolves every open blocker of the task when no blocker_id is given. */
    task_id: id.optional(),
    resolution: z.string().max(10_000).optional(),
  }).refine(e => e.blocker_id || e.task_id, 'blocker_id or task_id is required'),
  'decision.logged': z.object({
    ...base,
    kind: z.literal('decision.logged'),
    decision_id: id.optional(),
    agent_id: id.optional(),
    task_id: id.optional(),
    decision: z.string().min(1).max(100_000),
    rationale: z.string().max(100_000).optional(),
    alternatives: z.array(z.unknown()).max(100).optional(),
    confidence: z.number().min(0).max(1).optional(),
    factors: json.optional(),
  }),
  'artifact.logged': z.object({
    ...base,
    kind: z.literal('artifact.logged'),
    artifact_id: id.optional(),
    task_id: id.optional(),
    agent_id: id.optional(),
    name: shortText.min(1),
    artifact_type: z.string().max(64).optional(),
    location: z.string().max(4096).optional(),
    description: z.string().max(100_000).optional(),
  }),
  'cost.usage': z.object({
    ...base,
    kind: z.literal('cost.usage'),
    agent_id: id.optional(),
    task_id: id.optional(),
    provider: z.string().max(64).optional(),
    model: z.string().min(1).max(256),
    input_tokens: z.number().int().min(0).default(0),
    output_tokens: z.number().int().min(0).default(0),
    cache_read_tokens: z.number().int().min(0).default(0),
    cache_write_tokens: z.number().int().min(0).default(0),
    /** US dollars, when the source reports it. */
    cost: z.number().min(0).optional(),
  }),
  'alert.raised': z.object({
    ...base,
    kind: z.literal('alert.raised'),
    alert_id: id.optional(),
    severity: z.enum(['info', 'warning', 'error', 'critical']),
    type: z.string().min(1).max(64),
    message: z.string().min(1).max(10_000),
    subject_id: id.optional(),
    details: json.optional(),
  }),
  'command.issued': z.object({
    ...base,
    kind: z.literal('command.issued'),
    command_id: id.optional(),
    agent_id: id,
    command: z.enum(agentCommands),
    parameters: json.optional(),
    /** Who asked (a principal id). */
    issued_by: z.string().max(256).optional(),
    /** After this time an undelivered or unacknowledged command expires. */
    expires_at: timestamp.optional(),
  }),
  'command.updated': z.object({
    ...base,
    kind: z.literal('command.updated'),
    command_id: id,
    status: z.enum(['delivered', 'acknowledged', 'failed', 'expired']),
    result: json.optional(),
  }),
  /** Anything a source could not map: kept and counted, never lost. */
  'generic': z.object({
    ...base,
    kind: z.literal('generic'),
    /** What the source called it (`system_state`, `ping_request`, …). */
    type: z.string().min(1).max(256),
    /** An agent the record names: counts as activity of that agent. */
    agent_id: id.optional(),
    data: z.unknown(),
  }),
  /** A pipeline: a DAG of stages, each done by a named agent or by an agent with a capability. */
  'pipeline.defined': z.object({
    ...base,
    kind: z.literal('pipeline.defined'),
    pipeline_id: id,
    name: shortText.min(1),
    description: z.string().max(10_000).optional(),
    stages: z.array(z.object({
      id,
      name: shortText.min(1),
      agent_id: id.optional(),
      capability: shortText.optional(),
      depends_on: z.array(id).max(100).optional(),
      estimated_seconds: z.number().min(0).max(1e9).optional(),
    })).min(1).max(200),
  }),
  'pipeline.run.started': z.object({
    ...base,
    kind: z.literal('pipeline.run.started'),
    pipeline_id: id,
    run_id: id,
    trigger: z.string().min(1).max(64).default('manual'),
    parameters: json.optional(),
    /** Channel names per outcome: `{on_completion: ['webhook'], on_failure: ['slack']}`. */
    notifications: z.record(z.string(), z.array(z.string().max(32)).max(10)).optional(),
  }),
  'pipeline.stage.updated': z.object({
    ...base,
    kind: z.literal('pipeline.stage.updated'),
    run_id: id,
    pipeline_id: id.optional(),
    stage_id: id,
    status: z.enum(pipelineStageStatuses),
    /** 0..1 */
    progress: z.number().min(0).max(1).optional(),
    agent_id: id.optional(),
    /** The task that carries the stage's current attempt. */
    task_id: id.optional(),
    error: z.string().max(10_000).optional(),
  }),
  'pipeline.run.finished': z.object({
    ...base,
    kind: z.literal('pipeline.run.finished'),
    run_id: id,
    pipeline_id: id.optional(),
    status: z.enum(['completed', 'failed', 'cancelled']),
    reason: z.string().max(10_000).optional(),
  }),
} as const

export type EventKind = keyof typeof eventSchemas
export const eventKinds = Object.keys(eventSchemas) as EventKind[]
export type IngestEvent = { [K in EventKind]: z.output<(typeof eventSchemas)[K]> }[EventKind]
export type IngestEventOf<K extends EventKind> = z.output<(typeof eventSchemas)[K]>
/** What a source hands to the ingest path before validation. */
export type RawEvent = Record<string, unknown> & { kind: string }

export const ingestLimits = {
  maxEvents: 5000,
  maxBytes: 5 * 1024 * 1024,
} as const

// The answer's shapes, inferred from the schemas in ./responses (the OpenAPI document's source).
export type IngestResult = z.output<typeof ingestResult>
export type IngestResponse = z.output<typeof ingestResponse>
