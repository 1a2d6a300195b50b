/**
 * The Marcus MCP connector (MARCUS.md "MCP tools"): connects to Marcus over Streamable HTTP,
 * authenticates as an observer, then polls agents, project status and system metrics. Only
 * changes become events (source `marcus-mcp`), through the one write path, `ingest`.
 *
 * - Every call (handshake included) goes through one opossum circuit breaker with a timeout.
 *   A tool answering `{success:false}` is a failed call but not a broken connection: it does
 *   not count against the breaker.
 * - A transport failure or an open breaker drops the connection: realtime mode becomes
 *   `historical` (the API serves stored data and says so), /health shows `disconnected` or
 *   `circuit_open`, and the connector reconnects on its own with backoff (1 s → 30 s).
 * - Operator commands for Marcus-managed agents are forwarded where a tool fits
 *   (`clear_queue` → `unassign_task`, `request_status_report` → `get_agent_status`).
 */
import { hostname } from 'node:os'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import CircuitBreaker from 'opossum'
import type { AgentCommand, RawEvent } from '../../shared/events'
import { updateCommandStatus } from '../utils/commands'
import { useConfig } from '../utils/config'
import { useDatabase } from '../utils/db'
import { ingest } from '../utils/ingest'
import { setCircuitBreakerState } from '../utils/metrics'
import { setRealtimeMode } from '../utils/realtime'
import { FALLBACK_PROJECT } from './mapping'

const CONNECTOR = 'marcus-mcp'
const BREAKER = 'marcus_mcp'

type Rec = Record<string, unknown>

export type MarcusMcpOptions = {
  url: string
  pollMs: number
  timeoutMs: number
  resetMs: number
  reconnectMinMs: number
  reconnectMaxMs: number
  clientId: string
}

export type MarcusMcpState = 'connected' | 'disconnected' | 'circuit_open'

export type MarcusMcpStats = {
  state: MarcusMcpState
  url: string
  project_id: string | null
  agents: number
  polls: number
  failed_calls: number
  events_stored: number
  reconnects: number
  last_error: string | null
  last_poll_at: string | null
}

/** Statuses that only say whether an agent is working; Marcus's word on them wins for its agents. */
const WORKING = new Set(['busy', 'idle', 'active'])

/** A tool answered `{success:false}` (or no JSON): the call failed, the connection did not. */
export class MarcusToolFailure extends Error {}

/** What Marcus last said about an agent, and when its last poll-made heartbeat was stored. */
type SeenAgent = { status: string, tasks: string[], beatAt: number }

function obj(v: unknown): Rec | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Rec : undefined
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined
}
function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined
}

/** Marcus's agent status in Seneca's words (`working` → busy, `available` → idle). */
export function mapMarcusStatus(status: unknown): 'busy' | 'idle' | 'paused' | 'unavailable' | 'active' {
  switch (str(status)?.toLowerCase()) {
    case 'working': case 'busy': return 'busy'
    case 'available': case 'idle': return 'idle'
    case 'paused': return 'paused'
    case 'offline': case 'disconnected': case 'unavailable': return 'unavailable'
    default: return 'active'
  }
}

/** Task ids in `current_tasks` (strings, or objects with `task_id`/`id`). */
function taskIds(v: unknown): { id: string, name?: string }[] {
  if (!Array.isArray(v)) return []
  const out: { id: string, name?: string }[] = []
  for (const t of v) {
    if (typeof t === 'string' && t) out.push({ id: t })
    else {
      const o = obj(t)
      const id = str(o?.task_id) ?? str(o?.id)
      if (id) out.push({ id, ...(str(o?.task_name) ?? str(o?.name) ? { name: str(o?.task_name) ?? str(o?.name) } : {}) })
    }
  }
  return out
}

/** `content[0].text` as JSON; `{success:false}` or anything else is a MarcusToolFailure. */
export function parseToolResult(tool: string, result: unknown): Rec {
  const r = obj(result)
  const content = Array.isArray(r?.content) ? r.content : []
  const text = obj(content[0])?.text
  if (typeof text !== 'string') throw new MarcusToolFailure(`${tool}: no text content`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  }
  catch {
    throw new MarcusToolFailure(`${tool}: answer is not JSON`)
  }
  const body = obj(parsed)
  if (!body) throw new MarcusToolFailure(`${tool}: answer is not an object`)
  if (body.success === false || r?.isError === true) throw new MarcusToolFailure(`${tool}: ${str(body.error) ?? 'failed'}`)
  return body
}

type Action = () => Promise<unknown>

export class MarcusMcpConnector {
  private client: Client | undefined
  private connected = false
  private stopped = true
  private pollTimer: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private backoffMs: number
  private polling = false
  private readonly breaker: CircuitBreaker<[Action], unknown>
  private readonly agents = new Map<string, SeenAgent>()
  private projectId: string | undefined
  private lastProject: string | undefined
  private lastMetrics: string | undefined
  private readonly stats: Omit<MarcusMcpStats, 'state' | 'url' | 'project_id' | 'agents'> = {
    polls: 0, failed_calls: 0, events_stored: 0, reconnects: 0, last_error: null, last_poll_at: null,
  }

  constructor(readonly options: MarcusMcpOptions) {
    this.backoffMs = options.reconnectMinMs
    this.breaker = new CircuitBreaker<[Action], unknown>((action: Action) => action(), {
      timeout: options.timeoutMs,
      errorThresholdPercentage: 50,
      resetTimeout: options.resetMs,
      // Few calls per window: a couple of failures is enough to judge.
      volumeThreshold: 2,
      // A tool saying "no" is an answer, not an outage.
      errorFilter: (error: unknown) => error instanceof MarcusToolFailure,
    })
    this.breaker.on('open', () => {
      setCircuitBreakerState(BREAKER, 'open')
      this.dropConnection('circuit breaker open')
    })
    this.breaker.on('halfOpen', () => setCircuitBreakerState(BREAKER, 'half_open'))
    this.breaker.on('close', () => setCircuitBreakerState(BREAKER, 'closed'))
    setCircuitBreakerState(BREAKER, 'closed')
  }

  start() {
    if (!this.stopped) return
    this.stopped = false
    setRealtimeMode('historical')
    void this.connect()
  }

  async stop() {
    this.stopped = true
    clearTimeout(this.pollTimer)
    clearTimeout(this.reconnectTimer)
    this.breaker.shutdown()
    const client = this.client
    this.client = undefined
    this.connected = false
    await client?.close().catch(() => undefined)
  }

  state(): MarcusMcpState {
    if (this.breaker.opened) return 'circuit_open'
    return this.connected ? 'connected' : 'disconnected'
  }

  isConnected(): boolean {
    return this.connected && !this.breaker.opened
  }

  getStats(): MarcusMcpStats {
    return { state: this.state(), url: this.options.url, project_id: this.projectId ?? null, agents: this.agents.size, ...this.stats }
  }

  /** Whether Marcus told us about this agent in this process. */
  knowsAgent(agentId: string): boolean {
    return this.agents.has(agentId)
  }

  /** The agent's current Marcus tasks as last polled. */
  currentTasks(agentId: string): string[] {
    return this.agents.get(agentId)?.tasks ?? []
  }

  /** Calls a Marcus tool through the breaker; the parsed JSON answer. */
  async call(tool: string, args: Rec = {}): Promise<Rec> {
    const client = this.client
    if (!client || !this.connected) throw new Error('Marcus MCP is not connected')
    try {
      const result = await this.breaker.fire(() => client.callTool({ name: tool, arguments: args }, undefined, { timeout: this.options.timeoutMs }))
      return parseToolResult(tool, result)
    }
    catch (error) {
      this.stats.failed_calls++
      this.stats.last_error = (error as Error).message
      throw error
    }
  }

  private async connect() {
    if (this.stopped || this.connected) return
    const client = new Client({ name: 'seneca', version: '1.0.0' })
    const transport = new StreamableHTTPClientTransport(new URL(this.options.url))
    try {
      await this.breaker.fire(() => client.connect(transport, { timeout: this.options.timeoutMs }))
      const auth = await this.breaker.fire(() => client.callTool({
        name: 'authenticate',
        arguments: { client_id: this.options.clientId, client_type: 'observer', role: 'analytics' },
      }, undefined, { timeout: this.options.timeoutMs }))
      parseToolResult('authenticate', auth)
    }
    catch (error) {
      this.stats.last_error = `connect: ${(error as Error).message}`
      await client.close().catch(() => undefined)
      this.scheduleReconnect()
      return
    }
    if (this.stopped) {
      await client.close().catch(() => undefined)
      return
    }
    client.onclose = () => {
      if (this.client === client) this.dropConnection('transport closed')
    }
    this.client = client
    this.connected = true
    this.backoffMs = this.options.reconnectMinMs
    setRealtimeMode('live')
    await this.poll()
  }

  private scheduleReconnect() {
    if (this.stopped) return
    clearTimeout(this.reconnectTimer)
    const wait = this.backoffMs
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.reconnectMaxMs)
    this.reconnectTimer = setTimeout(() => {
      this.stats.reconnects++
      void this.connect()
    }, wait)
    this.reconnectTimer.unref?.()
  }

  /** The connection is gone (transport error, open breaker): historical mode, reconnect later. */
  private dropConnection(reason: string) {
    setRealtimeMode('historical')
    if (!this.connected) return
    this.connected = false
    this.stats.last_error = reason
    clearTimeout(this.pollTimer)
    const client = this.client
    this.client = undefined
    if (client) {
      client.onclose = undefined
      void client.close().catch(() => undefined)
    }
    this.scheduleReconnect()
  }

  private schedulePoll() {
    if (this.stopped || !this.connected) return
    clearTimeout(this.pollTimer)
    this.pollTimer = setTimeout(() => void this.poll(), this.options.pollMs)
    this.pollTimer.unref?.()
  }

  /** One round: project status, agents, metrics; a transport failure drops the connection. */
  async poll() {
    if (this.polling || !this.connected) return
    this.polling = true
    const events: RawEvent[] = []
    try {
      await this.pollProject(events)
      await this.pollAgents(events)
      await this.pollMetrics(events)
      this.stats.polls++
      this.stats.last_poll_at = new Date().toISOString()
    }
    catch (error) {
      if (!(error instanceof MarcusToolFailure)) this.dropConnection((error as Error).message)
    }
    finally {
      this.polling = false
      this.store(events)
      this.schedulePoll()
    }
  }

  private store(events: RawEvent[]) {
    if (events.length === 0) return
    const projectId = this.projectId ?? FALLBACK_PROJECT
    for (const e of events) e.project_id ??= projectId
    const outcome = ingest(events, CONNECTOR)
    this.stats.events_stored += outcome.stored
  }

  /** A tool that failed with `{success:false}` yields undefined; transport errors propagate. */
  private async tryCall(tool: string, args: Rec = {}): Promise<Rec | undefined> {
    try {
      return await this.call(tool, args)
    }
    catch (error) {
      if (error instanceof MarcusToolFailure) return undefined
      throw error
    }
  }

  private async pollProject(events: RawEvent[]) {
    const status = await this.tryCall('get_project_status')
    let project = obj(status?.project)
    if (!str(project?.id)) {
      const current = await this.tryCall('get_current_project')
      project = obj(current?.project) ?? (str(current?.id) ? current : undefined) ?? project
    }
    if (!str(project?.id)) {
      const list = await this.tryCall('list_projects')
      const first = Array.isArray(list?.projects) ? obj(list.projects[0]) : undefined
      if (first && str(first.id)) project = { ...first, ...project }
    }
    const id = str(project?.id)
    if (!project || !id) return
    const projectChanged = id !== this.projectId
    this.projectId = id
    const key = JSON.stringify({ project, workers: status?.workers ?? null })
    if (key === this.lastProject) return
    if (projectChanged || this.lastProject === undefined) {
      events.push({
        kind: 'project.upserted', project_id: id, name: str(project.name) ?? id,
        ...(str(project.provider) ? { provider: str(project.provider) } : {}),
      })
    }
    events.push({ kind: 'generic', project_id: id, type: 'marcus.project_status', data: { project, workers: status?.workers ?? null } })
    this.lastProject = key
  }

  private async pollAgents(events: RawEvent[]) {
    const answer = await this.tryCall('list_registered_agents')
    if (!answer || !Array.isArray(answer.agents)) return
    for (const raw of answer.agents) {
      const agent = obj(raw)
      const id = str(agent?.id)
      if (!agent || !id) continue
      this.observeAgent(id, agent, events)
    }
  }

  /** Compares one agent with what was last seen (or, on first sight, what is stored). */
  observeAgent(id: string, agent: Rec, events: RawEvent[], extraTasks: { id: string, name?: string }[] = []) {
    const status = mapMarcusStatus(agent.status)
    const tasks = [...taskIds(agent.current_tasks), ...extraTasks]
    let seen = this.agents.get(id)
    if (!seen) {
      const row = useDatabase().sqlite.prepare('SELECT status, metadata FROM agents WHERE id = ?').get(id) as { status: string, metadata: string | null } | undefined
      const known = row?.metadata?.includes('"marcus"') ?? false
      if (!row || !known) {
        events.push({
          kind: 'agent.registered', agent_id: id,
          ...(str(agent.name) ? { name: str(agent.name) } : {}),
          ...(str(agent.role) ? { type: str(agent.role) } : {}),
          ...(strings(agent.skills) ? { capabilities: strings(agent.skills) } : {}),
          metadata: { source: 'marcus', via: CONNECTOR },
        })
      }
      const assigned = row ? (useDatabase().sqlite.prepare('SELECT id FROM tasks WHERE assigned_agent_id = ?').all(id) as { id: string }[]).map(t => t.id) : []
      seen = { status: row?.status ?? '', tasks: assigned, beatAt: 0 }
      this.agents.set(id, seen)
    }
    const changed = status !== seen.status
    if (changed) {
      events.push({ kind: 'agent.status', agent_id: id, status, reason: `marcus: ${str(agent.status) ?? 'unknown'}` })
      seen.status = status
    }
    if (status !== 'unavailable') this.seenAlive(id, status, str(agent.status) ?? 'unknown', changed, seen, events)
    const ids = [...new Set(tasks.map(t => t.id))]
    for (const t of tasks) {
      if (seen.tasks.includes(t.id)) continue
      events.push({ kind: 'task.assigned', task_id: t.id, agent_id: id, ...(t.name ? { task_name: t.name } : {}) })
      seen.tasks.push(t.id)
    }
    seen.tasks = seen.tasks.filter(t => ids.includes(t))
  }

  /**
   * Marcus listing an agent as alive is the agent's heartbeat: without it, an agent that
   * makes no tool call for the activity timeout would be marked unavailable and stay so,
   * because its Marcus status never changes. Stored as an `agent.heartbeat` at most every
   * third of the activity timeout (capped at a minute), so unchanged polls add few events;
   * at once, with Marcus's status, when the agent is stored as unavailable.
   *
   * Marcus's word on working or not is also kept: when Seneca set another of busy/idle/active
   * meanwhile (the health monitor bringing the agent back by the task it holds), this poll
   * stores Marcus's (unless this poll already reports a change of Marcus's status).
   */
  private seenAlive(id: string, status: Exclude<ReturnType<typeof mapMarcusStatus>, 'unavailable'>, said: string, changed: boolean, seen: SeenAgent, events: RawEvent[]) {
    const stored = useDatabase().sqlite.prepare('SELECT status FROM agents WHERE id = ?').get(id) as { status: string } | undefined
    const now = Date.now()
    const down = stored?.status === 'unavailable'
    if (!down && !changed && stored && status !== stored.status && WORKING.has(status) && WORKING.has(stored.status)) {
      events.push({ kind: 'agent.status', agent_id: id, status, reason: `marcus: ${said}` })
    }
    if (!down && now - seen.beatAt < Math.min(useConfig().activityTimeoutMs / 3, 60_000)) return
    events.push({ kind: 'agent.heartbeat', agent_id: id, ...(down ? { status } : {}) })
    seen.beatAt = now
  }

  private async pollMetrics(events: RawEvent[]) {
    const answer = await this.tryCall('get_system_metrics', { time_window: '1h' })
    const metrics = obj(answer?.metrics)
    if (!metrics) return
    const key = JSON.stringify(metrics)
    if (key === this.lastMetrics) return
    this.lastMetrics = key
    events.push({ kind: 'generic', type: 'marcus.system_metrics', data: metrics })
  }

  /**
   * Forwards an operator's command to Marcus where a tool fits; the command ends
   * `acknowledged` with the tool's answer, or `failed`. False: not for Marcus (left alone).
   */
  async forwardCommand(issued: { command_id: string, agent_id: string, command: AgentCommand, parameters?: Rec }): Promise<boolean> {
    if (!this.isConnected() || !isMarcusAgent(issued.agent_id, this)) return false
    if (issued.command !== 'clear_queue' && issued.command !== 'request_status_report') return false
    try {
      let result: Rec
      if (issued.command === 'clear_queue') {
        const given = str(issued.parameters?.task_id)
        const tasks = given ? [given] : this.currentTasks(issued.agent_id)
        const answers: Rec[] = []
        for (const taskId of tasks) answers.push(await this.call('unassign_task', { agent_id: issued.agent_id, task_id: taskId }))
        result = { forwarded_to: 'marcus', tool: 'unassign_task', unassigned: tasks, answers }
      }
      else {
        const answer = await this.call('get_agent_status', { agent_id: issued.agent_id })
        const agent = obj(answer.agent)
        if (agent) {
          const events: RawEvent[] = []
          const assignment = obj(answer.current_assignment)
          const extra = str(assignment?.task_id) ? [{ id: str(assignment?.task_id)!, name: str(assignment?.task_name) }] : []
          this.observeAgent(issued.agent_id, agent, events, extra)
          events.push({
            kind: 'agent.heartbeat', agent_id: issued.agent_id, status: mapMarcusStatus(agent.status),
            metrics: { total_completed: agent.total_completed ?? null, performance_score: agent.performance_score ?? null },
          })
          this.store(events)
        }
        result = { forwarded_to: 'marcus', tool: 'get_agent_status', answer }
      }
      updateCommandStatus(issued.command_id, 'acknowledged', { result })
    }
    catch (error) {
      updateCommandStatus(issued.command_id, 'failed', { result: { forwarded_to: 'marcus', error: (error as Error).message } })
    }
    return true
  }
}

function isMarcusAgent(agentId: string, connector: MarcusMcpConnector): boolean {
  if (connector.knowsAgent(agentId)) return true
  const row = useDatabase().sqlite.prepare('SELECT metadata FROM agents WHERE id = ?').get(agentId) as { metadata: string | null } | undefined
  if (!row?.metadata) return false
  try {
    return obj(JSON.parse(row.metadata))?.source === 'marcus'
  }
  catch {
    return false
  }
}

let connector: MarcusMcpConnector | undefined

export function startMarcusMcpConnector(options: Omit<MarcusMcpOptions, 'clientId'> & { instance?: string }) {
  void connector?.stop()
  connector = new MarcusMcpConnector({ ...options, clientId: `seneca-${options.instance ?? `${hostname()}-${process.pid}`}` })
  connector.start()
  return connector
}

export async function stopMarcusMcpConnector() {
  const c = connector
  connector = undefined
  await c?.stop()
}

export function marcusMcpConnector(): MarcusMcpConnector | undefined {
  return connector
}

/**
 * For the command endpoint: hands a just-issued command to Marcus when it manages the agent.
 * Never throws and never blocks the request; the command's lifecycle records the outcome.
 */
export function forwardCommandToMarcus(issued: { command_id: string, agent_id: string, command: AgentCommand, parameters?: Rec }): void {
  const c = connector
  if (!c) return
  c.forwardCommand(issued).catch(() => undefined)
}
