/**
 * The realtime wire format: how a stored event looks to clients (channel, event name, data),
 * how events and control messages are serialised into frames, and how subscription filters
 * match. Live events bring what the projections derived; replayed ones are rebuilt here from
 * the event payload and the domain tables, so a replay looks like live traffic.
 * The hub (`realtime.ts`) does the fan-out; the message schemas are in `shared/realtime.ts`.
 */
import type { Statement } from 'better-sqlite3'
import type { AgentCommand } from '../../shared/events'
import type { ControlData, LogEventName, RealtimeChannel, SubscriptionFilters } from '../../shared/realtime'
import { costOfEvent } from './costs'
import type { Sqlite } from './db'
import type { StoredEvent } from './event-bus'
import { normaliseTaskStatus } from './projections'
import { parseJson } from './values'

export type RealtimeFilter = {
  projects: Set<string> | null
  conversations: Set<string> | null
  agents: Set<string> | null
  agentTypes: Set<string> | null
  messageTypes: Set<string> | null
  includeMetadata: boolean
  source: SubscriptionFilters
}

// ---------------------------------------------------------------------------------------
// OutgoingEvent events

/** One event as clients see it, with what filters look at; serialised lazily, once. */
export type OutgoingEvent = {
  seq: number
  channel: RealtimeChannel
  event: LogEventName
  projectId: string
  conversationId?: string
  agentIds: string[]
  messageType?: string
  data: Record<string, unknown>
  /** A command to mark `delivered` once sent to a connection subscribed as its agent. */
  commandId?: string
  json?: string
  dataJson?: string
  /** The same without `message.metadata` (`include_metadata: false`). */
  bareJson?: string
  bareDataJson?: string
}

function serialised(out: OutgoingEvent, includeMetadata: boolean): { json: string, dataJson: string } {
  if (!includeMetadata && out.event === 'conversation_message') {
    if (out.bareJson === undefined) {
      const message = { ...(out.data.message as Record<string, unknown>) }
      delete message.metadata
      out.bareDataJson = JSON.stringify({ ...out.data, message })
      out.bareJson = envelope(out, out.bareDataJson)
    }
    return { json: out.bareJson, dataJson: out.bareDataJson! }
  }
  if (out.json === undefined) {
    out.dataJson = JSON.stringify(out.data)
    out.json = envelope(out, out.dataJson)
  }
  return { json: out.json, dataJson: out.dataJson! }
}

function envelope(out: OutgoingEvent, dataJson: string): string {
  return `{"event":"${out.event}","channel":"${out.channel}","seq":${out.seq},"data":${dataJson}}`
}

/** Frames for a run of events: one JSON event or a `batch` for WebSockets, SSE blocks otherwise. */
export function encodeLogEvents(outs: OutgoingEvent[], kind: 'ws' | 'sse', includeMetadata: boolean): Buffer {
  if (kind === 'sse') {
    let text = ''
    for (const out of outs) text += `id: ${out.seq}\nevent: ${out.event}\ndata: ${serialised(out, includeMetadata).dataJson}\n\n`
    return Buffer.from(text)
  }
  if (outs.length === 1) return Buffer.from(serialised(outs[0]!, includeMetadata).json)
  const parts = new Array<string>(outs.length)
  for (let i = 0; i < outs.length; i++) parts[i] = serialised(outs[i]!, includeMetadata).json
  return Buffer.from(`{"event":"batch","data":{"events":[${parts.join(',')}]}}`)
}

export function encodeControlMessage<E extends keyof ControlData>(kind: 'ws' | 'sse', event: E, data: ControlData[E]): Buffer {
  const json = JSON.stringify(data)
  return Buffer.from(kind === 'sse' ? `event: ${event}\ndata: ${json}\n\n` : `{"event":"${event}","data":${json}}`)
}

// ---------------------------------------------------------------------------------------
// Look-ups the mapping and the filters need (prepared once per database connection)

type AgentInfo = { status: string, type: string | null, capabilities: string[] }
type MessageRow = {
  id: string
  conversation_id: string
  sender: string
  recipient: string | null
  content: string
  message_type: string
  ts: number
  metadata: string | null
  response_time_ms: number | null
}

export class RealtimeLookups {
  private readonly agentCache = new Map<string, AgentInfo | null>()
  private readonly st: {
    agent: Statement
    message: Statement
    command: Statement
    conversationProject: Statement
    maxSeq: Statement
    minSeq: Statement
    replayAll: Statement
    replayScoped: Statement
  }

  constructor(readonly sqlite: Sqlite) {
    const cols = 'seq, id, kind, project_id, ts, received_at, source, payload'
    this.st = {
      agent: sqlite.prepare('SELECT status, type, capabilities FROM agents WHERE id = ?'),
      message: sqlite.prepare(`SELECT id, conversation_id, sender, recipient, content, message_type, ts, metadata, response_time_ms
        FROM messages WHERE id = ?`),
      command: sqlite.prepare('SELECT agent_id, command FROM agent_commands WHERE id = ?'),
      conversationProject: sqlite.prepare('SELECT project_id FROM conversations WHERE id = ?'),
      maxSeq: sqlite.prepare('SELECT coalesce(max(seq), 0) AS seq FROM events'),
      minSeq: sqlite.prepare('SELECT min(seq) AS seq FROM events'),
      replayAll: sqlite.prepare(`SELECT ${cols} FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`),
      replayScoped: sqlite.prepare(`SELECT ${cols} FROM events WHERE seq > ? AND seq <= ?
        AND project_id IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?`),
    }
  }

  agent(agentId: string): AgentInfo | null {
    let info = this.agentCache.get(agentId)
    if (info === undefined) {
      const row = this.st.agent.get(agentId) as { status: string, type: string | null, capabilities: string } | undefined
      info = row ? { status: row.status, type: row.type, capabilities: parseJson<string[]>(row.capabilities, []) } : null
      // Bounded: agents are few, but a stream of unknown ids must not grow it forever.
      if (this.agentCache.size >= 10_000) this.agentCache.clear()
      this.agentCache.set(agentId, info)
    }
    return info
  }

  /** What the cache knew, without asking the database (it is forgotten on every change). */
  cachedAgent(agentId: string): AgentInfo | null | undefined {
    return this.agentCache.get(agentId)
  }

  /** Status, type or capabilities may have changed. */
  forgetAgent(agentId: string) {
    this.agentCache.delete(agentId)
  }

  message(messageId: string): MessageRow | undefined {
    return this.st.message.get(messageId) as MessageRow | undefined
  }

  command(commandId: string): { agent_id: string, command: string } | undefined {
    return this.st.command.get(commandId) as { agent_id: string, command: string } | undefined
  }

  conversationProject(conversationId: string): string | undefined {
    return (this.st.conversationProject.get(conversationId) as { project_id: string } | undefined)?.project_id
  }

  maxSeq(): number {
    return (this.st.maxSeq.get() as { seq: number }).seq
  }

  minSeq(): number | null {
    return (this.st.minSeq.get() as { seq: number | null }).seq
  }

  events(afterSeq: number, upToSeq: number, scope: string[] | null, limit: number): StoredEvent[] {
    type Row = { seq: number, id: string, kind: string, project_id: string, ts: number, received_at: number, source: string, payload: string }
    const rows = (scope === null
      ? this.st.replayAll.all(afterSeq, upToSeq, limit)
      : this.st.replayScoped.all(afterSeq, upToSeq, JSON.stringify(scope), limit)) as Row[]
    return rows.map(r => ({
      seq: r.seq, id: r.id, kind: r.kind, projectId: r.project_id, ts: r.ts, receivedAt: r.received_at,
      source: r.source, payload: parseJson<Record<string, unknown>>(r.payload, {}),
    }))
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null)
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null)
const compact = (ids: (string | null | undefined)[]): string[] => ids.filter((v, i, a): v is string => typeof v === 'string' && a.indexOf(v) === i)

/**
 * A stored event as clients see it: which channel and event, and the data. Live events bring
 * what the projections derived; replayed ones rebuild the same shapes from the payload and the
 * domain tables (the stored message, the command), so a replay looks like live traffic.
 */
export function toOutgoingEvents(ev: StoredEvent, look: RealtimeLookups): OutgoingEvent[] {
  const p = ev.payload
  const d = ev.derived
  const base = { seq: ev.seq, projectId: ev.projectId }
  const projectId = ev.projectId
  switch (ev.kind) {
    case 'message': {
      let conversationId: string
      let message: Record<string, unknown>
      if (d && obj(d.message)) {
        conversationId = String(d.conversation_id)
        message = d.message as Record<string, unknown>
      }
      else {
        const row = look.message(str(p.message_id) ?? ev.id)
        if (!row) return []
        conversationId = row.conversation_id
        message = {
          id: row.id, conversation_id: row.conversation_id, sender: row.sender, recipient: row.recipient,
          content: row.content, message_type: row.message_type, timestamp: new Date(row.ts).toISOString(),
          metadata: parseJson<Record<string, unknown>>(row.metadata, {}), response_time_ms: row.response_time_ms,
        }
      }
      return [{
        ...base, channel: 'conversations', event: 'conversation_message', conversationId,
        agentIds: compact([str(message.sender), str(message.recipient), str(p.agent_id)]),
        messageType: str(message.message_type) ?? 'message',
        data: { conversation_id: conversationId, project_id: projectId, message },
      }]
    }
    case 'agent.registered':
      return [{
        ...base, channel: 'agent_status', event: 'agent_registered', agentIds: [String(p.agent_id)],
        data: { agent_id: p.agent_id, project_id: projectId, name: str(p.name), type: str(p.type), capabilities: Array.isArray(p.capabilities) ? p.capabilities : [] },
      }]
    case 'agent.heartbeat': {
      // Live: only a change of status is news (the projection reports it). Replay cannot tell a
      // change from a repeat, so it reports heartbeats that state a status.
      const status = d ? str(d.status) : str(p.status)
      if (!status) return []
      return [agentStatus(base, String(p.agent_id), status, d ? str(d.previous_status) : null)]
    }
    case 'agent.status':
      return [agentStatus(base, String(p.agent_id), String(p.status), null, { reason: str(p.reason) })]
    case 'task.upserted':
      return [taskUpdate(base, p, { status: normaliseTaskStatus(str(p.status) ?? undefined) ?? null, agent_id: null, name: str(p.name) })]
    case 'task.assigned': {
      const agentId = String(p.agent_id)
      const outs = [taskUpdate(base, p, { status: 'in_progress', agent_id: agentId, name: str(p.task_name) })]
      const previous = d ? str(d.previous_agent_status) : null
      const now = look.agent(agentId)?.status === 'paused' ? 'paused' : 'busy'
      if (previous !== now) outs.push(agentStatus(base, agentId, now, previous))
      return outs
    }
    case 'task.progress': {
      let status = d ? str(d.status) : (normaliseTaskStatus(str(p.status) ?? undefined) ?? null)
      const percent = num(p.progress)
      if (!status && percent === 100) status = 'done'
      const progress = d ? num(d.progress) : status === 'done' ? 1 : percent === null ? null : percent / 100
      const agentId = str(p.agent_id)
      const outs = [taskUpdate(base, p, { status, agent_id: agentId, progress })]
      if (agentId && (status === 'done' || status === 'failed')) {
        // The projection released the agent; its status now is the news.
        const info = look.agent(agentId)
        outs.push(agentStatus(base, agentId, info?.status ?? 'idle', 'busy', status === 'done' ? { task_completed: String(p.task_id) } : {}))
      }
      return outs
    }
    case 'blocker.reported':
      return [{
        ...base, channel: 'tasks', event: 'blocker_update', agentIds: compact([str(p.agent_id)]),
        data: {
          blocker_id: (d && str(d.blocker_id)) ?? str(p.blocker_id) ?? ev.id, project_id: projectId, task_id: str(p.task_id),
          agent_id: str(p.agent_id), status: 'open', severity: str(p.severity) ?? 'medium', description: str(p.description) ?? '',
        },
      }]
    case 'blocker.resolved':
      return [{
        ...base, channel: 'tasks', event: 'blocker_update', agentIds: [],
        data: { blocker_id: str(p.blocker_id), project_id: projectId, task_id: str(p.task_id), agent_id: null, status: 'resolved' },
      }]
    case 'project.upserted':
      return [projectUpdate(base, [], { type: 'project', name: str(p.name), status: str(p.status), description: str(p.description) })]
    case 'decision.logged':
      return [projectUpdate(base, compact([str(p.agent_id)]), {
        type: 'decision', decision_id: str(p.decision_id) ?? ev.id, agent_id: str(p.agent_id), task_id: str(p.task_id),
        decision: str(p.decision), confidence: num(p.confidence),
      })]
    case 'artifact.logged':
      return [projectUpdate(base, compact([str(p.agent_id)]), {
        type: 'artifact', artifact_id: str(p.artifact_id) ?? ev.id, agent_id: str(p.agent_id), task_id: str(p.task_id),
        name: str(p.name), artifact_type: str(p.artifact_type), location: str(p.location),
      })]
    case 'cost.usage': {
      // The priced row: what the projection derived live, the stored row on replay.
      const priced = (d ?? costOfEvent(look.sqlite, ev.id)) as { cost?: number | null, cost_source?: string, price_id?: number | null, provider?: string | null } | undefined
      return [{
        ...base, channel: 'costs', event: 'cost_update', agentIds: compact([str(p.agent_id)]),
        data: {
          project_id: projectId, agent_id: str(p.agent_id), task_id: str(p.task_id), model: str(p.model), provider: priced?.provider ?? str(p.provider),
          input_tokens: num(p.input_tokens) ?? 0, output_tokens: num(p.output_tokens) ?? 0,
          cache_read_tokens: num(p.cache_read_tokens) ?? 0, cache_write_tokens: num(p.cache_write_tokens) ?? 0,
          cost: priced ? priced.cost ?? null : num(p.cost), cost_source: priced?.cost_source ?? null, price_id: priced?.price_id ?? null,
          timestamp: new Date(ev.ts).toISOString(),
        },
      }]
    }
    case 'alert.raised': {
      const alert = {
        alert_id: str(p.alert_id) ?? ev.id, project_id: projectId, severity: str(p.severity), type: str(p.type), message: str(p.message),
        subject_id: str(p.subject_id), details: obj(p.details), timestamp: new Date(ev.ts).toISOString(),
      }
      const outs: OutgoingEvent[] = [{ ...base, channel: 'alerts', event: 'alert', agentIds: compact([str(p.subject_id)]), data: alert }]
      // A budget's crossing is cost news too: the costs channel carries it for cost dashboards.
      if (ev.source === 'budgets' && (alert.type === 'budget_warning' || alert.type === 'budget_exceeded')) {
        const { subject_id: _subject, ...budget } = alert
        outs.push({ ...base, channel: 'costs', event: 'budget_alert', agentIds: [], data: budget })
      }
      return outs
    }
    case 'command.issued': {
      const commandId = (d && str(d.command_id)) ?? str(p.command_id) ?? ev.id
      const agentId = String(p.agent_id)
      return [{
        ...base, channel: 'agent_commands', event: 'agent_command', agentIds: [agentId], commandId,
        data: {
          command_id: commandId, project_id: projectId, agent_id: agentId, command: p.command,
          parameters: obj(p.parameters) ?? {}, status: 'pending', issued_by: str(p.issued_by),
        },
      }]
    }
    case 'command.updated': {
      const commandId = String(p.command_id)
      const stored = d ? { agent_id: str(d.agent_id), command: str(d.command) } : look.command(commandId)
      if (d?.unchanged) return []
      const agentId = stored?.agent_id ?? null
      const status = String(p.status)
      const outs: OutgoingEvent[] = [{
        ...base, channel: 'agent_commands', event: 'command_update', agentIds: compact([agentId]),
        data: { command_id: commandId, project_id: projectId, agent_id: agentId, command: stored?.command ?? null, status, result: obj(p.result) },
      }]
      // An acknowledged pause or resume changes the agent (the projection applied it).
      const command = stored?.command as AgentCommand | undefined
      if (agentId && status === 'acknowledged' && (command === 'pause_processing' || command === 'resume_processing')) {
        const before = look.cachedAgent(agentId)?.status ?? null
        look.forgetAgent(agentId)
        const now = look.agent(agentId)?.status ?? (command === 'pause_processing' ? 'paused' : 'idle')
        if (now !== before) outs.push(agentStatus(base, agentId, now, before))
      }
      return outs
    }
    default:
      if (ev.kind.startsWith('pipeline.')) {
        return [{
          ...base, channel: 'pipelines', event: 'pipeline_update', agentIds: compact([str(p.agent_id)]),
          data: { ...p, kind: ev.kind, project_id: projectId },
        }]
      }
      // `generic` records are kept for the log, not pushed to dashboards.
      return []
  }
}

function agentStatus(base: { seq: number, projectId: string }, agentId: string, status: string, previous: string | null, extra: Record<string, unknown> = {}): OutgoingEvent {
  return {
    ...base, channel: 'agent_status', event: 'agent_status_update', agentIds: [agentId],
    data: { agent_id: agentId, project_id: base.projectId, status, previous_status: previous, ...extra },
  }
}

function taskUpdate(base: { seq: number, projectId: string }, p: Record<string, unknown>, fields: { status: string | null, agent_id: string | null, name?: string | null, progress?: number | null }): OutgoingEvent {
  return {
    ...base, channel: 'tasks', event: 'task_update', agentIds: compact([fields.agent_id]),
    data: { task_id: String(p.task_id), project_id: base.projectId, ...fields },
  }
}

function projectUpdate(base: { seq: number, projectId: string }, agentIds: string[], data: Record<string, unknown>): OutgoingEvent {
  return { ...base, channel: 'projects', event: 'project_update', agentIds, data: { project_id: base.projectId, ...data } }
}

// ---------------------------------------------------------------------------------------
// Filters

export function compileRealtimeFilter(f: SubscriptionFilters): RealtimeFilter {
  const set = (v: string[] | undefined) => (v && v.length ? new Set(v) : null)
  return {
    projects: set(f.project_id),
    conversations: set(f.conversation_id),
    agents: set(f.agent_id),
    agentTypes: set(f.agent_types),
    messageTypes: set(f.message_types),
    includeMetadata: f.include_metadata !== false,
    source: f,
  }
}

/** A filter narrows only the events that carry what it names (see `subscriptionFilters`). */
export function realtimeFilterMatches(f: RealtimeFilter, out: OutgoingEvent, look: RealtimeLookups): boolean {
  if (f.projects && !f.projects.has(out.projectId)) return false
  if (f.conversations && out.conversationId !== undefined && !f.conversations.has(out.conversationId)) return false
  if (f.messageTypes && out.messageType !== undefined && !f.messageTypes.has(out.messageType)) return false
  if (out.agentIds.length) {
    if (f.agents && !out.agentIds.some(a => f.agents!.has(a))) return false
    if (f.agentTypes && !out.agentIds.some((a) => {
      const info = look.agent(a)
      return !!info && ((info.type !== null && f.agentTypes!.has(info.type)) || info.capabilities.some(c => f.agentTypes!.has(c)))
    })) return false
  }
  return true
}

/** Canonical text of a filter, so equal subscriptions share a group. */
export function realtimeFilterKey(f: SubscriptionFilters): string {
  const sorted = (v: string[] | undefined) => (v ? [...new Set(v)].sort() : null)
  return JSON.stringify([sorted(f.project_id), sorted(f.conversation_id), sorted(f.agent_id), sorted(f.agent_types), sorted(f.message_types), f.include_metadata !== false])
}
