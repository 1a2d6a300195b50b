/**
 * Agent health as a state machine, checked every few seconds:
 * - silent for longer than the timeout → `unavailable` (an alert is raised and its open
 *   tasks are re-queued to healthy agents with matching capabilities and the lowest load);
 *   activity again → back to `busy`/`idle`;
 * - slow answers or many errors over the recent window → `degraded`, and back when they pass.
 * Every change is an `agent.status` event, so it reaches the WebSocket like any other fact.
 *
 * Time is measured on each project's own clock: now minus how far its newest event lags
 * behind the moment it was stored. For live data that is now; for an imported log it is the
 * log's time, so importing an old session marks only the agents silent within it.
 */
import type { RawEvent } from '../../shared/events'
import { useConfig } from './config'
import { prepared, useDatabase } from './db'
import { ingest } from './ingest'
import { STAGE_LABEL } from './project-templates'

type AgentRow = {
  id: string
  project_id: string
  status: string
  paused: number
  current_task_id: string | null
  last_heartbeat_at: number | null
  last_active_at: number
  capabilities: string
  metadata: string | null
}

export type HealthThresholds = {
  /** Agents that send heartbeats: unavailable after this long without one. */
  heartbeatTimeoutMs: number
  /** Agents known only from their activity (Marcus workers between tool calls): unavailable after this long silent. */
  activityTimeoutMs: number
  /** Degraded when the agent's mean response time over the window exceeds this. */
  degradedResponseMs: number
  /** Degraded when this share of the agent's messages over the window are errors (with at least 5 messages). */
  degradedErrorRate: number
  windowMs: number
}

export function healthThresholds(): HealthThresholds {
  const c = useConfig()
  return {
    heartbeatTimeoutMs: c.heartbeatTimeoutMs,
    activityTimeoutMs: c.activityTimeoutMs,
    degradedResponseMs: c.degradedResponseMs,
    degradedErrorRate: c.degradedErrorRate,
    windowMs: 15 * 60_000,
  }
}

const seconds = (ms: number) => (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`)

/** Each project's clock: now minus the lag of its newest event. */
function projectClocks(now: number): Map<string, number> {
  const rows = useDatabase().sqlite.prepare(`SELECT p.id, (SELECT e.received_at - e.ts FROM events e WHERE e.project_id = p.id ORDER BY e.seq DESC LIMIT 1) AS lag
    FROM projects p`).all() as { id: string, lag: number | null }[]
  return new Map(rows.map(r => [r.id, now - Math.max(0, r.lag ?? 0)]))
}

function recentQuality(agentId: string, since: number) {
  return prepared(useDatabase().sqlite, `SELECT count(*) AS messages, sum(message_type IN ('error', 'failure')) AS errors,
    avg(response_time_ms) AS avg_response FROM messages WHERE sender = ? AND ts > ?`).get(agentId, since) as { messages: number, errors: number | null, avg_response: number | null }
}

function managedByMarcus(agent: AgentRow): boolean {
  if (!agent.metadata) return false
  try {
    return (JSON.parse(agent.metadata) as { source?: unknown }).source === 'marcus'
  }
  catch {
    return false
  }
}

/** What state the agent should be in now, and why; undefined when it should stay as it is. */
export function assess(agent: AgentRow, clock: number, t: HealthThresholds): { status: string, reason: string | null } | undefined {
  if (agent.paused) return undefined
  // Heartbeats of Marcus-managed agents come from Seneca polling Marcus: when that stops,
  // the observer lost sight of the agent, so only the activity timeout judges it.
  const heartbeats = agent.last_heartbeat_at !== null && !managedByMarcus(agent)
  const lastSeen = Math.max(agent.last_heartbeat_at ?? 0, agent.last_active_at)
  const silence = clock - lastSeen
  const timeout = heartbeats ? t.heartbeatTimeoutMs : t.activityTimeoutMs
  if (silence > timeout) {
    return agent.status === 'unavailable' ? undefined : { status: 'unavailable', reason: `no ${heartbeats ? 'heartbeat' : 'activity'} for ${seconds(silence)} (timeout ${seconds(timeout)})` }
  }
  const q = recentQuality(agent.id, clock - t.windowMs)
  const errorRate = q.messages ? (q.errors ?? 0) / q.messages : 0
  const working = agent.current_task_id ? 'busy' : 'idle'
  if (q.avg_response !== null && q.avg_response > t.degradedResponseMs) {
    return agent.status === 'degraded' ? undefined : { status: 'degraded', reason: `mean response ${Math.round(q.avg_response)} ms over ${seconds(t.windowMs)} (threshold ${t.degradedResponseMs} ms)` }
  }
  if (q.messages >= 5 && errorRate > t.degradedErrorRate) {
    return agent.status === 'degraded' ? undefined : { status: 'degraded', reason: `${Math.round(errorRate * 100)}% errors over ${seconds(t.windowMs)} (threshold ${Math.round(t.degradedErrorRate * 100)}%)` }
  }
  if (agent.status === 'unavailable' || agent.status === 'degraded') return { status: working, reason: agent.status === 'unavailable' ? 'active again' : 'recovered' }
  return undefined
}

type OpenTask = { id: string, labels: string, name: string }
type Candidate = { id: string, capabilities: string, load: number }

/**
 * Re-queues the open tasks of an agent that became unavailable: each goes to the healthy
 * agent of the project whose capabilities cover the task's capability labels, with the
 * fewest open tasks. Agents that Marcus manages are left to Marcus's own lease recovery.
 */
export function requeueEvents(agent: AgentRow, ts: number): RawEvent[] {
  if (managedByMarcus(agent)) return []
  const { sqlite } = useDatabase()
  const open = sqlite.prepare(`SELECT id, labels, name FROM tasks WHERE assigned_agent_id = ? AND status IN ('todo', 'in_progress')`).all(agent.id) as OpenTask[]
  if (!open.length) return []
  const candidates = sqlite.prepare(`SELECT a.id, a.capabilities,
      (SELECT count(*) FROM tasks t WHERE t.assigned_agent_id = a.id AND t.status IN ('todo', 'in_progress')) AS load
    FROM agents a WHERE a.project_id = ? AND a.id <> ? AND a.paused = 0 AND a.status IN ('active', 'idle', 'busy') AND a.kind = 'agent'`)
    .all(agent.project_id, agent.id) as Candidate[]
  const events: RawEvent[] = []
  for (const task of open) {
    const needs = (JSON.parse(task.labels) as string[]).filter(l => !l.startsWith(STAGE_LABEL))
    const capable = candidates
      .filter((c) => {
        const has = JSON.parse(c.capabilities) as string[]
        return needs.length === 0 || needs.some(n => has.includes(n))
      })
      .sort((a, b) => a.load - b.load || a.id.localeCompare(b.id))
    const chosen = capable[0]
    if (!chosen) {
      events.push({
        kind: 'alert.raised', project_id: agent.project_id, ts, severity: 'error', type: 'task_stranded', subject_id: task.id,
        message: `Task '${task.name}' of unavailable agent ${agent.id} has no healthy agent with ${needs.length ? needs.join(' or ') : 'capacity'} to take it`,
      })
      continue
    }
    chosen.load++
    events.push({ kind: 'task.assigned', project_id: agent.project_id, ts, task_id: task.id, agent_id: chosen.id, reason: `re-queued from ${agent.id} (unavailable)` })
  }
  return events
}

/** One pass over every agent; returns the events it stored. */
export function checkAgentHealth(now = Date.now(), thresholds = healthThresholds()) {
  const { sqlite } = useDatabase()
  const agents = sqlite.prepare(`SELECT id, project_id, status, paused, current_task_id, last_heartbeat_at, last_active_at, capabilities, metadata
    FROM agents WHERE kind = 'agent'`).all() as AgentRow[]
  const clocks = projectClocks(now)
  const events: RawEvent[] = []
  for (const agent of agents) {
    const clock = clocks.get(agent.project_id) ?? now
    const change = assess(agent, clock, thresholds)
    if (!change) continue
    events.push({ kind: 'agent.status', project_id: agent.project_id, ts: clock, agent_id: agent.id, status: change.status, reason: change.reason ?? undefined })
    if (change.status === 'unavailable' || change.status === 'degraded') {
      events.push({
        kind: 'alert.raised', project_id: agent.project_id, ts: clock, severity: change.status === 'unavailable' ? 'error' : 'warning',
        type: `agent_${change.status}`, subject_id: agent.id, message: `Agent ${agent.id} is ${change.status}: ${change.reason}`,
      })
    }
    if (change.status === 'unavailable') {
      // Seen as unavailable first, so it is no candidate for its own tasks.
      agent.status = 'unavailable'
      events.push(...requeueEvents(agent, clock))
    }
  }
  return events.length ? ingest(events, 'health-monitor').events : []
}

/** Commands past their expiry that were never acknowledged become `expired`. */
export function expireCommands(now = Date.now()) {
  const rows = useDatabase().sqlite.prepare(`SELECT id, project_id FROM agent_commands WHERE status IN ('pending', 'delivered') AND expires_at IS NOT NULL AND expires_at < ?`)
    .all(now) as { id: string, project_id: string }[]
  if (!rows.length) return []
  return ingest(rows.map(r => ({ kind: 'command.updated', project_id: r.project_id, command_id: r.id, status: 'expired' })), 'health-monitor').events
}
