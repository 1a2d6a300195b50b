/**
 * A live, made-up Marcus session for the demo: writes Marcus-format log lines (the
 * structlog conversations_/decisions_ files, realtime_ and agent_events_) over time into a
 * Marcus root, the way a running Marcus does, so Seneca's real log connector reads them.
 *
 * Formats follow MARCUS.md: structlog records end with `timestamp` (…Z), `event`, `logger`,
 * `level`; realtime and agent events use isoformat (`+00:00`); INFO+ records go to both the
 * conversations_ and decisions_ files.
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

const TEAM = [
  { id: 'agent-backend-01', name: 'Backend Agent 01', role: 'Backend Developer', skills: ['backend', 'api', 'nodejs', 'typescript'] },
  { id: 'agent-frontend-01', name: 'Frontend Agent 01', role: 'Frontend Developer', skills: ['frontend', 'ui', 'react', 'typescript'] },
  { id: 'agent-database-01', name: 'Database Agent 01', role: 'Database Engineer', skills: ['database', 'postgresql', 'sql', 'migrations'] },
  { id: 'agent-testing-01', name: 'Testing Agent 01', role: 'QA Engineer', skills: ['testing', 'unit', 'integration-tests', 'e2e'] },
]

const WORK = {
  'agent-backend-01': ['Set up API project skeleton', 'Implement user model', 'Implement JWT authentication', 'Task CRUD endpoints', 'Rate limiting and validation', 'Search endpoint'],
  'agent-frontend-01': ['Set up React app with routing', 'UI component library', 'Login and signup pages', 'Task list view', 'App layout and navigation'],
  'agent-database-01': ['Design database schema', 'PostgreSQL migrations', 'Indexes for task queries', 'Backup and restore scripts'],
  'agent-testing-01': ['Test plan and acceptance criteria', 'CI pipeline and test harness', 'Unit tests for auth service', 'API integration tests', 'Load test for auth endpoints'],
}

const NOTES = [
  'scaffolding in place', 'core logic written', 'edge cases covered', 'tests passing locally', 'reviewed and documented',
  'migrated the config to environment variables', 'added structured logging', 'handled the empty-state case',
]
const BLOCKERS = [
  'The staging database rejects connections from the CI runner; need the network policy updated',
  'The auth service returns 500 when the refresh token is expired instead of 401',
  'pg_dump in the ops image is older than the server; dump aborts with a version mismatch',
]

function stamp(date) {
  const iso = date.toISOString() // …sss Z; Python writes microseconds
  return iso.replace('Z', `${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}Z`)
}
const pyIso = date => stamp(date).replace('Z', '+00:00')

export class MarcusSession {
  /**
   * @param {string} root  the Marcus root to write `logs/` into
   * @param {{ projectId?: string, projectName?: string, random?: () => number }} [options]
   */
  constructor(root, options = {}) {
    this.projectId = options.projectId ?? 'demo-5b1d-4c7e-9a8f-2d4b6e1c0a57'
    this.projectName = options.projectName ?? 'Task Master Demo'
    this.random = options.random ?? Math.random
    const now = new Date()
    const day = now.toISOString().slice(0, 10).replaceAll('-', '')
    const time = now.toISOString().slice(11, 19).replaceAll(':', '')
    const conv = join(root, 'logs/conversations')
    const events = join(root, 'logs/agent_events')
    mkdirSync(conv, { recursive: true })
    mkdirSync(events, { recursive: true })
    this.files = {
      conversations: join(conv, `conversations_${day}_${time}.jsonl`),
      decisions: join(conv, `decisions_${day}_${time}.jsonl`),
      realtime: join(conv, `realtime_${day}_${time}.jsonl`),
      agentEvents: join(events, `agent_events_${day}.jsonl`),
    }
    this.agents = TEAM.map(a => ({ ...a, queue: [...WORK[a.id]], task: null, progress: 0, registered: false }))
    this.taskSeq = 0
    this.started = false
  }

  /** Writes one structlog record: DEBUG only to conversations_, INFO+ to both files. */
  structlog(fields, event, logger, level = 'info') {
    const line = `${JSON.stringify({ ...fields, timestamp: stamp(new Date()), event, logger, level })}\n`
    appendFileSync(this.files.conversations, line)
    if (level !== 'debug') appendFileSync(this.files.decisions, line)
  }

  realtime(type, fields) {
    appendFileSync(this.files.realtime, `${JSON.stringify({ timestamp: pyIso(new Date()), type, ...fields })}\n`)
  }

  agentEvent(eventType, data) {
    appendFileSync(this.files.agentEvents, `${JSON.stringify({ timestamp: pyIso(new Date()), event_type: eventType, data })}\n`)
  }

  worker(agent, toPm, message, metadata = {}) {
    this.structlog({
      worker_id: agent.id,
      conversation_type: toPm ? 'worker_to_pm' : 'pm_to_worker',
      message,
      metadata: { ...metadata, project_id: this.projectId, project_name: this.projectName },
    }, 'worker_communication', 'worker')
  }

  think(thought, context = {}) {
    this.structlog({ conversation_type: 'internal_thinking', thought, context }, 'pm_thinking', 'marcus', 'debug')
  }

  decide(decision, rationale, confidence, factors = {}, alternatives = []) {
    this.structlog({
      conversation_type: 'decision', decision, rationale, alternatives_considered: alternatives,
      confidence_score: confidence, decision_factors: factors,
    }, 'pm_decision', 'marcus')
  }

  start() {
    this.realtime('server_startup', { provider: 'planka' })
    this.decide(`Switching project from 'None' to '${this.projectName}'`, 'User requested project switch', 1.0, {
      new_project_id: this.projectId, new_project_name: this.projectName, provider: 'planka', tags: ['demo'],
    })
    this.structlog({ conversation_type: 'pm_to_kanban', action: 'provider_connected', data: { project_id: this.projectId, project_name: this.projectName, provider: 'planka', connection_status: 'success' }, processing_steps: [] }, 'kanban_interaction', 'kanban')
    this.started = true
  }

  /** One thing happens: an agent registers, gets work, reports progress, or hits a blocker. */
  step() {
    if (!this.started) this.start()
    const idle = this.agents.filter(a => !a.registered)
    if (idle.length) return this.register(idle[0])
    const agent = this.agents[Math.floor(this.random() * this.agents.length)]
    if (!agent.task) return this.assign(agent)
    return this.progress(agent)
  }

  register(agent) {
    agent.registered = true
    this.worker(agent, true, `Registering as ${agent.role} with skills: ${JSON.stringify(agent.skills)}`, { name: agent.name, role: agent.role, skills: agent.skills })
    this.realtime('worker_registration', { worker_id: agent.id, name: agent.name, role: agent.role, skills: agent.skills, source: 'mcp_client', target: 'marcus' })
    this.agentEvent('worker_registration', { worker_id: agent.id, name: agent.name, role: agent.role, skills: agent.skills })
    this.think(`New agent ${agent.name} registering with role ${agent.role}`)
    this.decide(`Register agent ${agent.name}`, 'Agent skills match project requirements', 0.95, { skills_match: true })
    this.worker(agent, false, `Registration successful. Welcome ${agent.name}!`, { status: 'registered' })
  }

  assign(agent) {
    this.worker(agent, true, 'Requesting next task', { worker_info: `Worker ${agent.id} requesting task` })
    this.realtime('task_request', { worker_id: agent.id, source: agent.id, target: 'marcus' })
    this.agentEvent('task_request', { worker_id: agent.id })
    if (agent.queue.length === 0) agent.queue.push(...WORK[agent.id].map(name => `${name} (follow-up)`))
    // A blocked task comes back to the queue as it was; Marcus re-assigns the same card.
    const next = agent.queue.shift()
    const task = typeof next === 'object'
      ? next
      : { id: String(2_000_000_000_000_000_000n + BigInt(++this.taskSeq * 7919)), name: next, hours: Math.round((1 + this.random() * 3) * 10) / 10 }
    agent.task = task
    agent.progress = 0
    this.think(`Finding optimal task for ${agent.id} among ready tasks`, { agent_id: agent.id })
    this.decide(`Assign task '${task.name}' to ${agent.id}`, 'Best skill match and highest priority', 0.85, { skill_match: 0.9, priority: 'high' })
    this.worker(agent, false, `Task assigned: ${task.name}`, { task_id: task.id, task_name: task.name, priority: 'high', estimated_hours: task.hours })
    this.realtime('task_assignment', { agent_id: agent.id, task_id: task.id, task_name: task.name, priority: 'high', source: 'marcus', target: agent.id })
    this.agentEvent('task_assignment', { worker_id: agent.id, task: { id: task.id, name: task.name, priority: 'high', estimated_hours: task.hours } })
  }

  progress(agent) {
    const task = agent.task
    if (agent.progress === 25 && this.random() < 0.12) {
      const description = BLOCKERS[Math.floor(this.random() * BLOCKERS.length)]
      this.worker(agent, true, `Reporting blocker: ${description}`, { task_id: task.id, severity: ['low', 'medium', 'high'][Math.floor(this.random() * 3)] })
      this.think(`Analyzing blocker from ${agent.id}`, { task_id: task.id })
      this.decide('Acknowledge blocker and provide suggestions', 'Help agent overcome the blocker with AI guidance', 0.8, { has_suggestions: true })
      this.worker(agent, false, 'Blocker acknowledged; suggestions attached', { suggestions: ['Check the service logs', 'Ask the owner for access'] })
      agent.queue.push(task)
      agent.task = null
      return
    }
    agent.progress += 25
    const done = agent.progress >= 100
    const note = NOTES[Math.floor(this.random() * NOTES.length)]
    this.worker(agent, true, `Progress update: ${note} (${agent.progress}%)`, { task_id: task.id, status: done ? 'completed' : 'in_progress', progress: agent.progress })
    this.agentEvent('progress_update', { agent_id: agent.id, task_id: task.id, status: done ? 'completed' : 'in_progress', progress: agent.progress, message: note })
    this.think(`Processing progress update from ${agent.id}`, { task_id: task.id, progress: agent.progress })
    this.worker(agent, false, `Progress update received: ${done ? 'completed' : 'in_progress'} at ${agent.progress}%`, { acknowledged: true })
    if (done) agent.task = null
  }
}
