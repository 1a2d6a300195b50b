/**
 * One line of the activity feed, from a stored event (`GET /api/events`) or a live one (the
 * WebSocket): what happened, to whom, and how alarming it is.
 */
import type { AnyLogEvent } from '~/stores/realtime'

export type ActivityItem = { seq: number, at: string, project: string, text: string, tone: 'ok' | 'warn' | 'bad' | 'info' }

type Payload = Record<string, unknown>
const str = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v))
const clip = (s: string, n = 120) => (s.length > n ? `${s.slice(0, n - 1)}…` : s)
const badStatuses = new Set(['unavailable', 'degraded', 'failed', 'error'])

/** A stored event (`{seq, kind, ts, project_id, payload}`). */
export function activityFromStored(e: { seq: number, kind: string, ts: string, project_id: string, payload: Payload }): ActivityItem {
  const p = e.payload
  const base = { seq: e.seq, at: e.ts, project: e.project_id }
  switch (e.kind) {
    case 'message':
      return { ...base, text: `${str(p.sender)} → ${str(p.recipient) || 'all'}: ${clip(str(p.content))}`, tone: p.message_type === 'error' ? 'bad' : 'info' }
    case 'agent.status':
      return { ...base, text: `${str(p.agent_id)} is ${str(p.status)}${p.reason ? ` (${str(p.reason)})` : ''}`, tone: badStatuses.has(str(p.status)) ? 'bad' : 'ok' }
    case 'agent.registered':
      return { ...base, text: `${str(p.name) || str(p.agent_id)} registered`, tone: 'ok' }
    case 'agent.heartbeat':
      return { ...base, text: `${str(p.agent_id)} heartbeat`, tone: 'info' }
    case 'task.assigned':
      return { ...base, text: `${str(p.task_name) || str(p.task_id)} assigned to ${str(p.agent_id)}`, tone: 'info' }
    case 'task.progress':
      return { ...base, text: `${str(p.task_id)}: ${p.status ? str(p.status) : `${str(p.progress)}%`}${p.message ? ` — ${clip(str(p.message), 80)}` : ''}`, tone: p.status === 'failed' ? 'bad' : 'info' }
    case 'task.upserted':
      return { ...base, text: `task ${str(p.name) || str(p.task_id)}${p.status ? ` (${str(p.status)})` : ''}`, tone: 'info' }
    case 'blocker.reported':
      return { ...base, text: `blocker (${str(p.severity)}): ${clip(str(p.description))}`, tone: 'bad' }
    case 'blocker.resolved':
      return { ...base, text: `blocker resolved${p.resolution ? `: ${clip(str(p.resolution))}` : ''}`, tone: 'ok' }
    case 'alert.raised':
      return { ...base, text: `alert ${str(p.type)}: ${clip(str(p.message))}`, tone: p.severity === 'info' ? 'info' : 'warn' }
    case 'command.issued':
      return { ...base, text: `command ${str(p.command)} for ${str(p.agent_id)}`, tone: 'info' }
    case 'command.updated':
      return { ...base, text: `command ${str(p.command_id)} ${str(p.status)}`, tone: p.status === 'failed' ? 'bad' : 'ok' }
    case 'cost.usage':
      return { ...base, text: `${str(p.agent_id) || 'usage'}: ${str(p.model)} ${str(p.input_tokens)} in / ${str(p.output_tokens)} out tokens`, tone: 'info' }
    case 'decision.logged':
      return { ...base, text: `decision: ${clip(str(p.decision))}`, tone: 'info' }
    case 'generic':
      return { ...base, text: `${str(p.type)}${p.agent_id ? ` (${str(p.agent_id)})` : ''}`, tone: 'info' }
    default:
      return { ...base, text: e.kind.replaceAll('.', ' '), tone: str(p.status) === 'failed' ? 'bad' : 'info' }
  }
}

/** A live event from the WebSocket. */
export function activityFromLive(e: AnyLogEvent): ActivityItem {
  const now = new Date().toISOString()
  const base = { seq: e.seq, project: e.data.project_id }
  switch (e.event) {
    case 'conversation_message': {
      const m = e.data.message
      return { ...base, at: m.timestamp, text: `${m.sender} → ${m.recipient ?? 'all'}: ${clip(m.content)}`, tone: m.message_type === 'error' ? 'bad' : 'info' }
    }
    case 'agent_status_update':
      return { ...base, at: now, text: `${e.data.agent_id} is ${e.data.status}${e.data.reason ? ` (${e.data.reason})` : ''}`, tone: badStatuses.has(e.data.status) ? 'bad' : 'ok' }
    case 'agent_registered':
      return { ...base, at: now, text: `${e.data.name ?? e.data.agent_id} registered`, tone: 'ok' }
    case 'task_update':
      return { ...base, at: now, text: `task ${e.data.name ?? e.data.task_id}: ${e.data.status ?? 'updated'}${e.data.agent_id ? ` (${e.data.agent_id})` : ''}`, tone: e.data.status === 'failed' ? 'bad' : 'info' }
    case 'blocker_update':
      return { ...base, at: now, text: e.data.status === 'open' ? `blocker (${e.data.severity ?? '?'}): ${clip(e.data.description ?? '')}` : 'blocker resolved', tone: e.data.status === 'open' ? 'bad' : 'ok' }
    case 'project_update':
      return { ...base, at: now, text: `project ${e.data.project_id}: ${e.data.type}`, tone: 'info' }
    case 'pipeline_update':
      return { ...base, at: now, text: `pipeline ${e.data.kind.replaceAll('.', ' ')}${e.data.status ? `: ${str(e.data.status)}` : ''}`, tone: e.data.status === 'failed' ? 'bad' : 'info' }
    case 'cost_update':
      return { ...base, at: e.data.timestamp, text: `${e.data.agent_id ?? 'usage'}: ${e.data.model} ${e.data.input_tokens} in / ${e.data.output_tokens} out tokens`, tone: 'info' }
    case 'alert':
      return { ...base, at: e.data.timestamp, text: `alert ${e.data.type}: ${clip(e.data.message)}`, tone: e.data.severity === 'info' ? 'info' : 'warn' }
    case 'agent_command':
      return { ...base, at: now, text: `command ${e.data.command} for ${e.data.agent_id}`, tone: 'info' }
    case 'command_update':
      return { ...base, at: now, text: `command ${e.data.command ?? e.data.command_id} ${e.data.status}`, tone: e.data.status === 'failed' ? 'bad' : 'ok' }
    case 'budget_alert':
      return { ...base, at: e.data.timestamp, text: `budget: ${clip(e.data.message)}`, tone: e.data.type === 'budget_exceeded' ? 'bad' : 'warn' }
    default:
      // An event kind newer than this feed: named, not hidden.
      return { ...base, at: now, text: String((e as { event: string }).event).replaceAll('_', ' '), tone: 'info' }
  }
}
