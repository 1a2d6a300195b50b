/**
 * Marcus log records → Seneca events (MARCUS.md "Mapping to Seneca").
 *
 * - A conversation is the thread between Marcus and one worker within a project; Marcus's
 *   own thinking and decisions form the coordinator's thread; kanban interactions form a
 *   Marcus↔board thread.
 * - Facts (agents, tasks, progress, blockers) come from `worker_communication` records,
 *   which every Marcus version writes. Legacy structlog records (`task_assignment`,
 *   `progress_update`, `blocker_reported`, `system_state`) repeat those facts, so they are
 *   kept as generic events only, never counted twice.
 * - Event ids derive from the raw line, so a record written to both the conversations_ and
 *   decisions_ files, or read again after a restart, is stored once.
 */
import { hash as digest } from 'node:crypto'
import type { RawEvent } from '../../shared/events'

export type MarcusFileKind = 'conversations' | 'decisions' | 'realtime' | 'agent_events' | 'pipeline'

export const COORDINATOR = 'marcus'
export const BOARD = 'kanban'
/** Project of records when Marcus never names one. */
export const FALLBACK_PROJECT = 'marcus'
/** Stands for the project in conversation ids until `assignProject` knows it. */
const PROJECT = '{project}'

export type MarcusContext = {
  projectId?: string
  projectName?: string
}

type Rec = Record<string, unknown>

export function fileKind(name: string): MarcusFileKind | undefined {
  if (/^conversations_.*\.jsonl$/.test(name)) return 'conversations'
  if (/^decisions_.*\.jsonl$/.test(name)) return 'decisions'
  if (/^realtime_.*\.jsonl$/.test(name)) return 'realtime'
  if (/^agent_events_.*\.jsonl$/.test(name)) return 'agent_events'
  return undefined
}

/**
 * The id of a log line, from its bytes: the same line read from either structlog file, or
 * again after a restart, gets the same id. Given the line's own timestamp (`lineTime`), the
 * id starts with it, so ids of a log arrive in ascending order and the unique indexes of
 * events and messages grow at their end instead of at random places (far fewer pages
 * rewritten per commit). Without it (lines imported before ids carried their time, or a
 * line without a timestamp) the id is the hash alone.
 */
export function lineId(line: string, ts?: number): string {
  const hash = digest('sha1', line, 'hex')
  return ts === undefined ? `ml_${hash.slice(0, 24)}` : `ml_t${ts.toString(36).padStart(9, '0')}_${hash.slice(0, 20)}`
}

const TIMESTAMP_KEY = /"timestamp":\s*"([^"]{1,64})"/

/** The timestamp a raw line names (its first `"timestamp"` key), without parsing the line. */
export function lineTime(line: string): number | undefined {
  const m = TIMESTAMP_KEY.exec(line)
  return m ? parseTime(m[1]!) : undefined
}

/** The record's time in epoch ms (structlog `…Z`, isoformat `…+00:00`), or undefined. */
export function recordTime(rec: Rec): number | undefined {
  const ts = rec.timestamp
  return typeof ts === 'string' ? parseTime(ts) : undefined
}

function parseTime(ts: string): number | undefined {
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? ts : `${ts}Z`)
  return Number.isNaN(ms) ? undefined : ms
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const obj = (v: unknown): Rec | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? v as Rec : undefined)
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined)

const severities = new Set(['low', 'medium', 'high', 'critical'])

/**
 * Task facts only the answers of Marcus's MCP tools carry (logged as DEBUG thinking): the
 * board's labels of an assigned task (`request_next_task`), and the tasks that wait for one
 * (`get_task_context`'s `dependent_tasks`), which become dependency edges added to those known.
 */
function toolResponseFacts(context: Rec): [string, RawEvent][] {
  const response = obj(context.response)
  if (!response || response.success === false) return []
  if (context.tool_name === 'request_next_task') {
    const task = obj(response.task)
    const taskId = idOf(task?.id)
    if (!task || !taskId) return []
    return [['task', {
      kind: 'task.upserted', task_id: taskId,
      ...(str(task.name) ? { name: str(task.name) } : {}),
      ...(str(task.description) ? { description: str(task.description) } : {}),
      ...(strings(task.labels)?.length ? { labels: strings(task.labels) } : {}),
    }]]
  }
  if (context.tool_name === 'get_task_context') {
    const ctx = obj(response.context)
    const taskId = idOf(ctx?.task_id) ?? idOf(obj(context.arguments)?.task_id)
    const dependents = Array.isArray(ctx?.dependent_tasks) ? ctx.dependent_tasks : []
    if (!taskId) return []
    return dependents.flatMap((d, i): [string, RawEvent][] => {
      const dependent = obj(d)
      const id = idOf(dependent?.task_id)
      return id && id !== taskId
        ? [[`dependent:${i}`, { kind: 'task.upserted', task_id: id, ...(str(dependent!.task_name) ? { name: str(dependent!.task_name) } : {}), also_depends_on: [taskId] }]]
        : []
    })
  }
  return []
}

/** Marcus's task ids are strings of digits, sometimes written as numbers. */
function idOf(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : undefined
}

/** What the mapping produced: events, and whether the record was of a kind it knows. */
export type Mapped = { events: RawEvent[], known: boolean }

/**
 * Maps one parsed record. `id` is the line's id; events that name no project get the
 * context's project (the caller fills it in when none is known yet).
 */
export function mapRecord(kind: MarcusFileKind, rec: Rec, id: string, ctx: MarcusContext): Mapped {
  const ts = recordTime(rec)
  const out: RawEvent[] = []
  // Every event handed in is a fresh literal: completed in place rather than copied.
  const push = (suffix: string, event: RawEvent) => {
    event.id = suffix ? `${id}:${suffix}` : id
    if (ts !== undefined) event.ts = ts
    out.push(event)
  }
  const project = (projectId: string | undefined, name?: string, extra: Rec = {}) => {
    if (!projectId) return
    if (projectId !== ctx.projectId || (name && name !== ctx.projectName)) {
      ctx.projectId = projectId
      ctx.projectName = name ?? ctx.projectName
      push('project', { kind: 'project.upserted', project_id: projectId, name: name ?? projectId, ...extra })
    }
  }
  const generic = (type: string, agentId?: string) => {
    push('', { kind: 'generic', type, data: rec, ...(agentId ? { agent_id: agentId } : {}) })
  }

  if (kind === 'realtime') {
    const type = str(rec.type) ?? 'unknown'
    if (type === 'worker_registration' && str(rec.worker_id)) {
      push('', registration(str(rec.worker_id)!, rec))
    }
    else generic(`realtime.${type}`, str(rec.worker_id) ?? str(rec.agent_id))
    return { events: out, known: str(rec.type) !== undefined }
  }

  if (kind === 'agent_events') {
    const type = str(rec.event_type) ?? 'unknown'
    const data = obj(rec.data) ?? {}
    if (type === 'worker_registration' && str(data.worker_id)) push('', registration(str(data.worker_id)!, data))
    else generic(`agent_event.${type}`, str(data.worker_id) ?? str(data.agent_id))
    return { events: out, known: str(rec.event_type) !== undefined }
  }

  // structlog records (conversations_ and decisions_ files)
  const event = str(rec.event) ?? ''
  switch (event) {
    case 'worker_communication': {
      const worker = str(rec.worker_id)
      if (!worker) break
      const meta = obj(rec.metadata) ?? {}
      project(str(meta.project_id), str(meta.project_name))
      const toPm = rec.conversation_type !== 'pm_to_worker'
      const content = typeof rec.message === 'string' ? rec.message : JSON.stringify(rec.message ?? '')
      if (toPm && (meta.skills !== undefined || meta.role !== undefined)) {
        push('agent', registration(worker, meta))
      }
      push('', {
        kind: 'message',
        conversation_id: workerThread(worker),
        conversation_type: 'worker',
        conversation_title: `Marcus ↔ ${worker}`,
        agent_id: worker,
        sender: toPm ? worker : COORDINATOR,
        recipient: toPm ? COORDINATOR : worker,
        content,
        message_type: toPm ? 'request' : 'response',
        metadata: { ...meta, marcus_event: event, conversation_type: rec.conversation_type, level: rec.level },
      })
      const taskId = str(meta.task_id) ?? (typeof meta.task_id === 'number' ? String(meta.task_id) : undefined)
      if (!taskId) break
      if (!toPm && str(meta.task_name)) {
        push('assign', {
          kind: 'task.assigned', task_id: taskId, agent_id: worker, task_name: str(meta.task_name),
          ...(str(meta.priority) ? { priority: str(meta.priority) } : {}),
          ...(num(meta.estimated_hours) !== undefined ? { estimated_hours: num(meta.estimated_hours) } : {}),
        })
      }
      else if (toPm && num(meta.progress) !== undefined) {
        const status = str(meta.status)
        push('progress', {
          kind: 'task.progress', task_id: taskId, agent_id: worker,
          progress: Math.min(100, Math.max(0, num(meta.progress)!)),
          ...(status && taskStatuses.has(status) ? { status } : {}),
          message: content.replace(/^Progress update:\s*/, '').replace(/\s*\(\d+%\)$/, ''),
        })
      }
      else if (toPm && meta.severity !== undefined) {
        const severity = str(meta.severity)?.toLowerCase()
        push('blocker', {
          kind: 'blocker.reported', task_id: taskId, agent_id: worker,
          severity: severity && severities.has(severity) ? severity : 'medium',
          description: content.replace(/^Reporting blocker:\s*/, '') || content,
        })
      }
      break
    }
    case 'pm_thinking': {
      const context = obj(rec.context) ?? {}
      project(str(context.project_id))
      // Marcus's log of a tool call answers the agent that made it.
      const caller = str(obj(context.arguments)?.agent_id)
      push('', coordinatorMessage(String(rec.thought ?? ''), 'thinking', { context, level: rec.level }, caller))
      for (const [suffix, fact] of toolResponseFacts(context)) push(suffix, fact)
      break
    }
    case 'pm_decision': {
      const factors = obj(rec.decision_factors) ?? {}
      project(str(factors.new_project_id), str(factors.new_project_name), {
        ...(str(factors.provider) ? { provider: str(factors.provider) } : {}),
        ...(strings(factors.tags) ? { tags: strings(factors.tags) } : {}),
      })
      const decision = String(rec.decision ?? '')
      const agentId = str(factors.agent_id) ?? str(factors.worker_id) ?? /\bto agent (\S+)$|\bto (\S+)$/.exec(decision)?.slice(1).find(Boolean)
      const confidence = num(rec.confidence_score)
      push('', coordinatorMessage(decision, 'decision', {
        rationale: rec.rationale, alternatives_considered: rec.alternatives_considered, confidence_score: rec.confidence_score, decision_factors: factors,
      }))
      push('decision', {
        kind: 'decision.logged', decision,
        ...(agentId ? { agent_id: agentId } : {}),
        ...(str(factors.task_id) ? { task_id: str(factors.task_id) } : {}),
        ...(typeof rec.rationale === 'string' ? { rationale: rec.rationale } : {}),
        ...(Array.isArray(rec.alternatives_considered) ? { alternatives: rec.alternatives_considered } : {}),
        ...(confidence !== undefined && confidence >= 0 && confidence <= 1 ? { confidence } : {}),
        factors,
      })
      break
    }
    case 'kanban_interaction': {
      const data = obj(rec.data) ?? {}
      project(str(data.project_id), str(data.project_name))
      const toBoard = rec.conversation_type === 'pm_to_kanban'
      const action = str(rec.action) ?? 'interaction'
      push('', {
        kind: 'message',
        conversation_id: `marcus:${PROJECT}:board`,
        conversation_type: 'board',
        conversation_title: 'Marcus ↔ board',
        agent_id: COORDINATOR,
        sender: toBoard ? COORDINATOR : BOARD,
        recipient: toBoard ? BOARD : COORDINATOR,
        content: summariseKanban(action, data),
        message_type: toBoard ? 'request' : 'response',
        metadata: { action, data, processing_steps: rec.processing_steps, conversation_type: rec.conversation_type },
      })
      break
    }
    case 'task_assignment':
    case 'progress_update':
    case 'blocker_reported':
    case 'system_state':
      generic(event, str(rec.worker_id))
      break
    default: {
      const failure = /^MCP tool '(.+)' returned failure$/.exec(event)
      if (failure) {
        const args = obj(rec.arguments) ?? {}
        const error = str(rec.error) ?? 'unknown error'
        push('', coordinatorMessage(`MCP tool '${failure[1]}' returned failure: ${error}`, 'error', {
          tool_name: rec.tool_name ?? failure[1], arguments: args, error, retry_reason: rec.retry_reason, level: rec.level,
        }, str(args.agent_id)))
        break
      }
      generic(event || 'unknown', str(rec.worker_id) ?? str(obj(rec.arguments)?.agent_id))
      return { events: out, known: false }
    }
  }
  if (out.length === 0) {
    generic(event || 'unknown')
    return { events: out, known: false }
  }
  return { events: out, known: true }
}

const taskStatuses = new Set(['todo', 'in_progress', 'blocked', 'done', 'failed', 'cancelled', 'completed', 'in-progress'])

function workerThread(worker: string) {
  return `marcus:${PROJECT}:${worker}`
}

/**
 * Gives events their project: records that come before Marcus names a project wait until
 * it does (or until the caller gives up and uses FALLBACK_PROJECT).
 */
export function assignProject(events: RawEvent[], projectId: string): RawEvent[] {
  for (const e of events) {
    e.project_id ??= projectId
    if (typeof e.conversation_id === 'string') e.conversation_id = e.conversation_id.replace(PROJECT, e.project_id as string)
  }
  return events
}

function registration(worker: string, src: Rec): RawEvent {
  return {
    kind: 'agent.registered',
    agent_id: worker,
    ...(str(src.name) ? { name: str(src.name) } : {}),
    ...(str(src.role) ? { type: str(src.role) } : {}),
    ...(strings(src.skills) ? { capabilities: strings(src.skills) } : {}),
    metadata: { source: 'marcus' },
  }
}

function coordinatorMessage(content: string, messageType: string, metadata: Rec, recipient?: string): RawEvent {
  return {
    ...(recipient ? { recipient } : {}),
    kind: 'message',
    conversation_id: `marcus:${PROJECT}:coordinator`,
    conversation_type: 'coordinator',
    conversation_title: 'Marcus (coordinator)',
    agent_id: COORDINATOR,
    sender: COORDINATOR,
    content,
    message_type: messageType,
    metadata,
  }
}

function summariseKanban(action: string, data: Rec): string {
  const parts = Object.entries(data)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .slice(0, 4)
    .map(([k, v]) => `${k}=${String(v)}`)
  return parts.length ? `${action}: ${parts.join(', ')}` : action
}
