#!/usr/bin/env node
/**
 * Marcus log backfill: BENCH_LINES (1,000,000) log lines written in Marcus's formats into a
 * temp Marcus root — structlog `conversations_*.jsonl` (worker_communication, pm_thinking,
 * pm_decision, kanban_interaction, legacy task_assignment/progress_update/blocker_reported/
 * system_state, MCP tool failures), their INFO+ copies in `decisions_*.jsonl`, server
 * `realtime_*.jsonl` and per-day `agent_events_*.jsonl` — BENCH_WORKERS (12) workers over
 * BENCH_SESSIONS (2) Marcus process runs, with varying content and increasing timestamps.
 * Shapes copied from shared/fixtures/marcus/session-a.
 *
 * Then the server starts with MARCUS_ROOT pointing there; GET /api/connectors is polled until
 * the connector is `caught_up` with `lines` == total. Figure: lines/s from spawn to caught up
 * (and with this run's bare server start-up time taken off).
 * Baseline, same run: a bare Node script reading the same files and JSON.parse-ing each line.
 * Target: ≥ 40,000 lines/s.
 */
import { closeSync, createReadStream, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import {
  authHeaders, cpuProfArgs, dirSizeMb, envInt, getJson, log, machine, removeDir, report, rng, round, sleep,
  startServer, summariseCpuProfiles, tempDir,
} from './lib.mjs'

const LINES = Math.max(100, envInt('BENCH_LINES', 1_000_000))
const WORKERS = Math.max(1, envInt('BENCH_WORKERS', 12))
const SESSIONS = Math.max(1, envInt('BENCH_SESSIONS', 2))
const TIMEOUT_S = envInt('BENCH_TIMEOUT_S', 900)
const PROFILE = process.env.BENCH_CPU_PROF === '1'
const TARGET_LINES_PER_S = 40_000

// ---------------------------------------------------------------------------------------
// Python's json.dumps (", " and ": " separators, ensure_ascii) — how Marcus writes lines

class PyFloat {
  constructor(v) { this.v = v }
}
/** A float Python prints with a decimal point even when whole (1.0, 0.0). */
const F = v => new PyFloat(v)

function pyStr(s) {
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
function py(v) {
  if (v === null || v === undefined) return 'null'
  switch (typeof v) {
    case 'string': return pyStr(v)
    case 'boolean': return v ? 'true' : 'false'
    case 'number': return String(v)
  }
  if (v instanceof PyFloat) return Number.isInteger(v.v) ? `${v.v}.0` : String(v.v)
  if (Array.isArray(v)) return `[${v.map(py).join(', ')}]`
  let out = '{'
  let first = true
  for (const k in v) {
    out += `${first ? '' : ', '}${pyStr(k)}: ${py(v[k])}`
    first = false
  }
  return `${out}}`
}

// ---------------------------------------------------------------------------------------
// the simulated Marcus

const ROLES = [
  { key: 'backend', role: 'Backend Developer', skills: ['backend', 'api', 'nodejs', 'typescript', 'security', 'auth', 'infrastructure'] },
  { key: 'frontend', role: 'Frontend Developer', skills: ['frontend', 'ui', 'react', 'typescript', 'forms', 'design'] },
  { key: 'database', role: 'Database Engineer', skills: ['database', 'postgresql', 'sql', 'migrations', 'performance', 'data-modeling'] },
  { key: 'testing', role: 'QA Engineer', skills: ['testing', 'unit', 'integration-tests', 'e2e', 'ci', 'documentation'] },
]
const PROJECTS = [
  { id: '3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57', name: 'Task Master Test', board: '1716598034557060075' },
  { id: '8b1e4d20-7c3a-4f5e-b6d9-0a2c4e6f8b13', name: 'Billing Service Rewrite', board: '1716598034557099321' },
]
const VERBS = ['Implement', 'Add', 'Refactor', 'Write', 'Fix', 'Design', 'Migrate', 'Document', 'Optimise', 'Harden']
const THINGS = ['user repository', 'task CRUD endpoints', 'JWT refresh flow', 'login page', 'rate limiter', 'search index', 'CI pipeline', 'seed data',
  'backup scripts', 'audit log', 'webhook retries', 'invoice export', 'settings form', 'dashboard charts', 'permission checks', 'schema migration']
const DONE_NOTES = ['unit tests passing', 'endpoint wired and documented', 'migration applied on staging', 'component renders with mock data', 'lint and typecheck clean',
  'integration tests green', 'p95 latency under 40 ms locally', 'reviewed the edge cases', 'added fixtures for the new tables', 'handled the empty state']
const BLOCKERS = ['CORS preflight rejected by the dev API', 'pg_dump version mismatch with the server', 'flaky e2e test on CI runner', 'missing credentials for the staging bucket',
  'upstream API returns 502 intermittently', 'dependency task not merged yet', 'schema drift between branches', 'container image lacks the build toolchain']
const PRIORITIES = ['low', 'medium', 'high', 'urgent']
const INSTRUCTIONS = name => `\u{1F534} MANDATORY WORKFLOW \u{1F534}\n\nBefore starting work, you MUST write a todo list with these steps:\n\n1. Call get_task_context to check dependencies and artifacts\n2. Read artifacts from dependency tasks\n3. [TASK WORK: ${name}]\n   ${name} following the project conventions.\n4. Report progress at 25%, 50%, 75% milestones\n5. Log decisions (log_decision) and artifacts (log_artifact) as needed\n6. BEFORE reporting "completed", verify:\n   - Does your code actually run without errors?\n   - Do all the tests for this task pass?\n7. Report completion with implementation summary\n8. Be prepared for remediation work if validation fails and resubmit progress\n9. Immediately request next task\n\n\u26a0\ufe0f CRITICAL BEHAVIORS:\n- Check dependencies with get_task_context BEFORE starting work\n- Report progress at each milestone (not just at completion)\n- VERIFY code runs and tests pass BEFORE reporting completed`

/** Writes the log tree; returns the number of lines per file and in total. */
function generateMarcusLogs(root) {
  const convDir = join(root, 'logs/conversations')
  const agentDir = join(root, 'logs/agent_events')
  mkdirSync(convDir, { recursive: true })
  mkdirSync(agentDir, { recursive: true })
  const r = rng(2026)
  const files = new Map() // name → { fd, buf, lines }
  let total = 0
  const out = (dir, name, text) => {
    let f = files.get(name)
    if (!f) {
      f = { fd: openSync(join(dir, name), 'a'), buf: [], bytes: 0, lines: 0 }
      files.set(name, f)
    }
    f.buf.push(text)
    f.bytes += text.length
    f.lines++
    total++
    if (f.bytes > 1 << 20) flush(f)
  }
  const flush = (f) => {
    if (f.buf.length) writeSync(f.fd, `${f.buf.join('\n')}\n`)
    f.buf = []
    f.bytes = 0
  }
  const full = () => total >= LINES

  let us = Date.UTC(2026, 2, 2, 9, 0, 0) * 1000 // the clock, in microseconds
  const tick = (lo = 800, hi = 9000) => (us += r.int(lo, hi))
  const iso = () => {
    const ms = Math.floor(us / 1000)
    return new Date(ms).toISOString().slice(0, 23) + String(Math.floor(us % 1000)).padStart(3, '0')
  }
  const stamp = t => `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}`
  let session
  // structlog record: kwargs, timestamp, event, logger, level; INFO+ also goes to decisions_.
  const slog = (fields, event, logger, level = 'info', timestampLast = false) => {
    if (full()) return
    tick()
    const rec = timestampLast ? { ...fields, event, logger, level, timestamp: `${iso()}Z` } : { ...fields, timestamp: `${iso()}Z`, event, logger, level }
    const line = py(rec)
    out(convDir, session.conv, line)
    if (level !== 'debug' && !full()) out(convDir, session.dec, line)
  }
  const realtime = (type, fields) => {
    if (full()) return
    tick()
    out(convDir, session.rt, py({ timestamp: `${iso()}+00:00`, type, ...fields }))
  }
  const agentEvent = (type, data) => {
    if (full()) return
    tick()
    const t = iso()
    out(agentDir, `agent_events_${stamp(t)}.jsonl`, py({ timestamp: `${t}+00:00`, event_type: type, data }))
  }

  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const role = ROLES[i % ROLES.length]
    const n = String(Math.floor(i / ROLES.length) + 1).padStart(2, '0')
    return { id: `agent-${role.key}-${n}`, name: `${role.key[0].toUpperCase()}${role.key.slice(1)} Agent ${n}`, ...role, task: null, progress: 0 }
  })
  let taskSeq = 0
  const newTask = () => {
    taskSeq++
    const name = `${r.pick(VERBS)} ${r.pick(THINGS)} #${taskSeq}`
    return { id: String(1_700_000_000_000_000_000n + BigInt(taskSeq) * 7_919_113n), name, priority: r.pick(PRIORITIES), hours: F(round(0.5 + r.next() * 4, 1)) }
  }

  for (let s = 0; s < SESSIONS && !full(); s++) {
    const project = PROJECTS[s % PROJECTS.length]
    const pctx = { project_id: project.id, project_name: project.name, board_id: project.board, board_name: null }
    tick(60_000_000, 600_000_000)
    const t = iso()
    const base = `${stamp(t)}_${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}`
    session = { conv: `conversations_${base}.jsonl`, dec: `decisions_${base}.jsonl`, rt: `realtime_${base}.jsonl` }
    const sessionLines = Math.ceil(LINES / SESSIONS) * (s + 1)

    // start-up
    realtime('server_startup', { provider: 'planka' })
    slog({ event_type: 'state_snapshot', active_workers: 0, tasks_in_progress: 0, tasks_completed: 0, tasks_blocked: 0, system_metrics: { status: 'starting', kanban_provider: 'planka' } }, 'system_state', 'marcus')
    slog({ conversation_type: 'decision', decision: `Switching project from 'None' to '${project.name}'`, rationale: 'User requested project switch', alternatives_considered: [], confidence_score: F(1), decision_factors: { previous_project_id: null, previous_project_name: null, new_project_id: project.id, new_project_name: project.name, provider: 'planka', tags: ['test', 'demo'] } }, 'pm_decision', 'marcus')
    slog({ conversation_type: 'internal_thinking', thought: `Creating new context for project '${project.name}' - No existing context found for project ${project.id}`, context: { project_id: project.id, provider: 'planka' } }, 'pm_thinking', 'marcus', 'debug')
    slog({ conversation_type: 'pm_to_kanban', action: 'provider_connected', data: { project_id: project.id, project_name: project.name, provider: 'planka', connection_status: 'success' }, processing_steps: [] }, 'kanban_interaction', 'kanban')

    // registrations
    for (const w of workers) {
      w.task = null
      slog({ worker_id: w.id, conversation_type: 'worker_to_pm', message: `Registering as ${w.role} with skills: [${w.skills.map(k => `'${k}'`).join(', ')}]`, metadata: { name: w.name, role: w.role, skills: w.skills, project_id: project.id } }, 'worker_communication', 'worker')
      slog({ conversation_type: 'internal_thinking', thought: `New agent registration request from ${w.name}`, context: { agent_id: w.id, role: w.role, skills: w.skills } }, 'pm_thinking', 'marcus', 'debug')
      realtime('worker_registration', { worker_id: w.id, name: w.name, role: w.role, skills: w.skills, source: 'mcp_client', target: 'marcus' })
      agentEvent('worker_registration', { worker_id: w.id, name: w.name, role: w.role, skills: w.skills })
      slog({ conversation_type: 'decision', decision: `Register agent ${w.name}`, rationale: 'Agent skills match project requirements', alternatives_considered: [], confidence_score: 0.95, decision_factors: { skills_match: true, capacity_available: true, role_needed: true } }, 'pm_decision', 'marcus')
      slog({ worker_id: w.id, conversation_type: 'pm_to_worker', message: `Registration successful. Welcome ${w.name}!`, metadata: { status: 'registered' } }, 'worker_communication', 'worker')
      slog({ conversation_type: 'internal_thinking', thought: 'MCP tool \'register_agent\' succeeded', context: { tool_name: 'register_agent', arguments: { agent_id: w.id, name: w.name, role: w.role, skills: w.skills, project_id: project.id }, response: { success: true, message: `Agent ${w.name} registered successfully`, agent_id: w.id, project_id: project.id } } }, 'pm_thinking', 'marcus', 'debug')
    }

    let lastPoll = us
    let lastPing = us
    let done = 0
    while (!full() && total < sessionLines) {
      tick(500_000, 20_000_000) // seconds between tool calls
      // Seneca's status poll every 15 min, ping every 30 min.
      if (us - lastPoll > 900e6) {
        lastPoll = us
        realtime('project_state_refreshed', { task_count: taskSeq, project_state: { board_id: project.board, project_name: 'Current Project', total_tasks: taskSeq, completed_tasks: done, in_progress_tasks: workers.filter(x => x.task).length, blocked_tasks: 0, progress_percent: F(round((100 * done) / Math.max(1, taskSeq), 1)), team_velocity: F(0), risk_level: 'low', last_updated: `${iso()}+00:00` } })
        slog({ event_type: 'state_snapshot', active_workers: workers.length, tasks_in_progress: workers.filter(x => x.task).length, tasks_completed: done, tasks_blocked: 0, system_metrics: { total_tasks: taskSeq, total_workers: workers.length } }, 'system_state', 'marcus')
      }
      if (us - lastPing > 1800e6) {
        lastPing = us
        realtime('ping_request', { echo: 'seneca heartbeat', source: 'mcp_client', client_type: 'seneca' })
        agentEvent('ping_request', { echo: 'seneca heartbeat', source: 'mcp_client', client_type: 'seneca' })
        slog({ conversation_type: 'internal_thinking', thought: 'Received ping from seneca client with echo: seneca heartbeat', context: {} }, 'pm_thinking', 'marcus', 'debug')
        realtime('ping_response', { success: true, status: 'online', provider: 'planka', echo: 'seneca heartbeat', client_type_detected: 'seneca', server_info: { instance_id: 'unknown', log_dir: '/home/dev/marcus/logs/conversations' } })
        slog({ conversation_type: 'kanban_to_pm', action: 'client_connection', data: { client_type: 'seneca', echo: 'seneca heartbeat', timestamp: `${iso()}+00:00` }, processing_steps: [] }, 'kanban_interaction', 'kanban')
      }

      const w = r.pick(workers)
      if (!w.task) {
        // request_next_task
        slog({ worker_id: w.id, conversation_type: 'worker_to_pm', message: 'Requesting next task', metadata: { worker_info: `Worker ${w.id} requesting task`, ...pctx } }, 'worker_communication', 'worker')
        realtime('task_request', { worker_id: w.id, source: w.id, target: 'marcus' })
        agentEvent('task_request', { worker_id: w.id })
        slog({ conversation_type: 'internal_thinking', thought: 'Need to check current project state', context: {} }, 'pm_thinking', 'marcus', 'debug')
        slog({ conversation_type: 'internal_thinking', thought: `Finding optimal task for ${w.name}`, context: { agent_skills: w.skills, current_workload: 0 } }, 'pm_thinking', 'marcus', 'debug')
        realtime('project_state_refreshed', { task_count: taskSeq, project_state: { board_id: project.board, project_name: 'Current Project', total_tasks: taskSeq, completed_tasks: done, in_progress_tasks: workers.filter(x => x.task).length, blocked_tasks: 0, progress_percent: F(round((100 * done) / Math.max(1, taskSeq), 1)), team_velocity: F(0), risk_level: 'low', last_updated: `${iso()}+00:00` } })
        if (r.chance(0.05)) {
          slog({ worker_id: w.id, conversation_type: 'pm_to_worker', message: 'No suitable tasks available at this time', metadata: { reason: 'no_matching_tasks', retry_after_seconds: 30, ...pctx } }, 'worker_communication', 'worker')
          slog({ tool_name: 'request_next_task', arguments: { agent_id: w.id }, error: 'Unknown error', retry_reason: 'Waiting for dependencies to complete', response: { success: false, message: 'NO TASKS CURRENTLY AVAILABLE', retry_after_seconds: 30 } }, 'MCP tool \'request_next_task\' returned failure', 'marcus', 'warning', true)
          slog({ conversation_type: 'internal_thinking', thought: 'For root cause analysis of request_next_task failure, check Python logs (logs/marcus_*.log) for \'Diagnostic Report\' entries near this timestamp', context: { hint: 'Diagnostics run automatically when no tasks assignable' } }, 'pm_thinking', 'marcus', 'debug')
          continue
        }
        const task = newTask()
        w.task = task
        w.progress = 0
        slog({ conversation_type: 'decision', decision: `Assign task '${task.name}' to ${w.id}`, rationale: 'Best skill match and highest priority', alternatives_considered: [{ task: 'Other Task 1', score: 0.7 }, { task: 'Other Task 2', score: 0.6 }], confidence_score: 0.85, decision_factors: { skill_match: 0.9, priority: task.priority, dependencies_clear: r.chance(0.7) } }, 'pm_decision', 'marcus')
        slog({ event_type: 'assignment', task_id: task.id, worker_id: w.id, task_details: { name: task.name, priority: task.priority, estimated_hours: task.hours }, assignment_score: round(0.6 + r.next() * 0.4, 2), dependency_analysis: { blocking_tasks: [], dependent_tasks: [] } }, 'task_assignment', 'marcus')
        slog({ worker_id: w.id, conversation_type: 'pm_to_worker', message: `Assigned task: ${task.name}`, metadata: { task_id: task.id, instructions: INSTRUCTIONS(task.name) } }, 'worker_communication', 'worker')
        slog({ worker_id: w.id, conversation_type: 'pm_to_worker', message: `Task assigned: ${task.name}`, metadata: { task_id: task.id, task_name: task.name, priority: task.priority, estimated_hours: task.hours, ...pctx } }, 'worker_communication', 'worker')
        agentEvent('task_assignment', { worker_id: w.id, task: { id: task.id, name: task.name, priority: task.priority, estimated_hours: task.hours } })
        realtime('task_assignment', { agent_id: w.id, task_id: task.id, task_name: task.name, priority: task.priority, source: 'marcus', target: w.id })
        slog({ conversation_type: 'internal_thinking', thought: 'MCP tool \'request_next_task\' succeeded', context: { tool_name: 'request_next_task', arguments: { agent_id: w.id }, response: { success: true, task: { id: task.id, name: task.name, description: `${task.name} following the project conventions.`, instructions: INSTRUCTIONS(task.name), priority: task.priority } } } }, 'pm_thinking', 'marcus', 'debug')
        continue
      }
      const task = w.task
      if (w.progress === 0 && r.chance(0.5)) {
        agentEvent('context_requested', { agent_id: w.id, task_id: task.id, project: project.name })
        slog({ conversation_type: 'internal_thinking', thought: 'MCP tool \'get_task_context\' succeeded', context: { tool_name: 'get_task_context', arguments: { task_id: task.id }, response: { success: true, context: { task_id: task.id, previous_implementations: {}, dependent_tasks: [], related_patterns: [] } } } }, 'pm_thinking', 'marcus', 'debug')
      }
      if (r.chance(0.04)) {
        // report_blocker
        const what = `${r.pick(BLOCKERS)} (${r.pick(THINGS)})`
        const severity = r.pick(['low', 'medium', 'high'])
        slog({ worker_id: w.id, conversation_type: 'worker_to_pm', message: `Reporting blocker: ${what}`, metadata: { task_id: task.id, severity, ...pctx } }, 'worker_communication', 'worker')
        slog({ conversation_type: 'internal_thinking', thought: `Analyzing blocker from ${w.id}`, context: { task_id: task.id, severity } }, 'pm_thinking', 'marcus', 'debug')
        slog({ event_type: 'blocker', worker_id: w.id, task_id: task.id, blocker_description: what, severity, suggested_solutions: ['Check the service logs', 'Ask the team lead', 'Pin the dependency version'], resolution_attempts: [] }, 'blocker_reported', 'worker', 'warning')
        slog({ conversation_type: 'pm_to_kanban', action: 'report_blocker', data: { task_id: task.id, blocker: what, severity }, processing_steps: [] }, 'kanban_interaction', 'kanban')
        slog({ conversation_type: 'decision', decision: 'Acknowledge blocker and provide suggestions', rationale: 'Help agent overcome the blocker with AI guidance', alternatives_considered: [], confidence_score: 0.8, decision_factors: { severity, has_suggestions: true } }, 'pm_decision', 'marcus')
        slog({ worker_id: w.id, conversation_type: 'pm_to_worker', message: 'Blocker acknowledged. Suggestions provided.', metadata: { suggestions: { root_cause: what, resolution_steps: ['Check the service logs', 'Pin the dependency version'], estimated_hours: r.int(1, 4), escalation_needed: false }, severity, ...pctx } }, 'worker_communication', 'worker')
        slog({ conversation_type: 'internal_thinking', thought: 'MCP tool \'report_blocker\' succeeded', context: { tool_name: 'report_blocker', arguments: { agent_id: w.id, task_id: task.id, blocker_description: what, severity }, response: { success: true } } }, 'pm_thinking', 'marcus', 'debug')
        w.task = null
        continue
      }
      // report_task_progress
      w.progress = Math.min(100, w.progress + 25)
      const status = w.progress === 100 ? 'completed' : 'in_progress'
      const note = `${r.pick(DONE_NOTES)}; ${r.pick(DONE_NOTES)} (${r.int(3, 240)} checks)`
      slog({ worker_id: w.id, conversation_type: 'worker_to_pm', message: `Progress update: ${note} (${w.progress}%)`, metadata: { task_id: task.id, status, progress: w.progress, ...pctx } }, 'worker_communication', 'worker')
      slog({ conversation_type: 'internal_thinking', thought: `Processing progress update from ${w.id}`, context: { task_id: task.id, status, progress: w.progress } }, 'pm_thinking', 'marcus', 'debug')
      slog({ event_type: 'progress', worker_id: w.id, task_id: task.id, progress: w.progress, status, message: note, metrics: { time_elapsed: F(round(r.next() * 3000, 6)), estimated_remaining: F(round((100 - w.progress) / 50, 1)) } }, 'progress_update', 'worker')
      agentEvent('progress_update', { agent_id: w.id, task_id: task.id, status, progress: w.progress, message: note })
      slog({ worker_id: w.id, conversation_type: 'pm_to_worker', message: `Progress update received: ${status} at ${w.progress}%`, metadata: { acknowledged: true, ...pctx } }, 'worker_communication', 'worker')
      slog({ conversation_type: 'internal_thinking', thought: 'MCP tool \'report_task_progress\' succeeded', context: { tool_name: 'report_task_progress', arguments: { agent_id: w.id, task_id: task.id, status, progress: w.progress, message: note, start_command: null, readiness_probe: null, verifications: null }, response: { success: true, message: 'Progress updated successfully' } } }, 'pm_thinking', 'marcus', 'debug')
      if (w.progress === 100) {
        w.task = null
        done++
      }
    }
  }
  for (const f of files.values()) {
    flush(f)
    closeSync(f.fd)
  }
  return { total, files: Object.fromEntries([...files.entries()].map(([k, f]) => [k, f.lines])) }
}

/** Bare baseline: read every file and JSON.parse each line, nothing else. */
async function bareReadParse(root) {
  let lines = 0
  let bytes = 0
  const t0 = performance.now()
  for (const sub of ['logs/conversations', 'logs/agent_events']) {
    const dir = join(root, sub)
    for (const name of readdirSync(dir).sort()) {
      let rest = ''
      for await (const chunk of createReadStream(join(dir, name), { encoding: 'utf8', highWaterMark: 1 << 20 })) {
        bytes += chunk.length
        const text = rest + chunk
        let start = 0
        let nl
        while ((nl = text.indexOf('\n', start)) !== -1) {
          if (nl > start) {
            JSON.parse(text.slice(start, nl))
            lines++
          }
          start = nl + 1
        }
        rest = text.slice(start)
      }
      if (rest.trim()) {
        JSON.parse(rest)
        lines++
      }
    }
  }
  return { lines, ms: performance.now() - t0, mb: round(bytes / 1048576, 1) }
}

// ---------------------------------------------------------------------------------------

/** BENCH_KEEP_DATA=1: keep the Marcus root and the server's data dir for a look afterwards. */
const KEEP = process.env.BENCH_KEEP_DATA === '1'
const root = tempDir('seneca-bench-marcus-', { keep: KEEP })
log(`backfill: generating ${LINES} Marcus log lines (${WORKERS} workers, ${SESSIONS} sessions) in ${root}`)
const tGen = performance.now()
const generated = generateMarcusLogs(root)
log(`backfill: generated ${generated.total} lines in ${round((performance.now() - tGen) / 1000, 1)} s: ${JSON.stringify(generated.files)}`)

log('backfill: baseline (bare read + JSON.parse)')
const bare = await bareReadParse(root)
if (bare.lines !== generated.total) throw new Error(`baseline read ${bare.lines} lines, expected ${generated.total}`)
const bareRate = bare.lines / (bare.ms / 1000)
log(`backfill: bare ${Math.round(bareRate)} lines/s (${bare.mb} MB)`)

// Bare start-up time of this server build in this run, to separate it from the backfill.
const empty = await startServer()
const emptyStartupMs = empty.startupMs
await empty.stop()
removeDir(empty.dataDir)

// BENCH_CPU_PROF_DIR keeps the raw .cpuprofile files there (for inclusive-time analysis).
const keptProfDir = PROFILE ? process.env.BENCH_CPU_PROF_DIR : undefined
if (keptProfDir) mkdirSync(keptProfDir, { recursive: true })
const profDir = PROFILE ? keptProfDir ?? tempDir('seneca-bench-prof-') : undefined
const headers = await authHeaders()
log('backfill: starting the server with MARCUS_ROOT')
// The connector may backfill before the server listens: allow the whole time budget.
let server
try {
  server = await startServer({ env: { MARCUS_ROOT: root }, dataDir: KEEP ? tempDir('seneca-bench-data-', { keep: true }) : undefined, readyTimeoutMs: TIMEOUT_S * 1000, nodeArgs: PROFILE ? cpuProfArgs(profDir) : [] })
}
catch (error) {
  // Never answered within BENCH_TIMEOUT_S (or crashed): report it rather than nothing.
  removeDir(root)
  report({
    benchmark: 'backfill', ...machine(), params: { lines: generated.total, workers: WORKERS, sessions: SESSIONS },
    error: String(error).slice(0, 4000), figures: { timed_out: true },
    baseline: { lines_per_s: round(bareRate, 0) }, target: { lines_per_s_min: TARGET_LINES_PER_S }, pass: { lines_per_s: false }, passed: false,
  })
  process.exit(1)
}
/** utime + stime of a process, in seconds (Linux /proc), or null. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
    // After the command: state is field 3, utime and stime are fields 14 and 15 (1-based).
    return (Number(fields[11]) + Number(fields[12])) / 100
  }
  catch {
    return null
  }
}

const firstAnswerMs = server.readyAt - server.spawnedAt
log(`backfill: server answered after ${round(firstAnswerMs / 1000, 1)} s`)

let stats = null
let caughtUpMs = null
let polls = 0
let maxPollMs = 0
let lastLog = 0
const deadline = server.spawnedAt + TIMEOUT_S * 1000
while (performance.now() < deadline) {
  const res = await getJson(`${server.url}/api/connectors`, { headers, timeoutMs: Math.max(1000, deadline - performance.now()) })
  polls++
  maxPollMs = Math.max(maxPollMs, res.ms)
  const c = res.status === 200 ? res.body.connectors?.find(x => x.name === 'marcus-log') ?? res.body.connectors?.[0] : undefined
  if (c) stats = c
  if (c?.caught_up && c.lines >= generated.total) {
    caughtUpMs = performance.now() - server.spawnedAt
    break
  }
  if (performance.now() - lastLog > 5000) {
    lastLog = performance.now()
    log(`backfill: ${c ? `${c.lines}/${generated.total} lines, caught_up ${c.caught_up}` : `HTTP ${res.status}`}`)
  }
  await sleep(100)
}
const rss = server.rss()
const serverCpuS = cpuSeconds(server.pid)
await server.stop()
const dataMb = dirSizeMb(server.dataDir)
if (KEEP) log(`backfill: kept the data dir ${server.dataDir} and the Marcus root ${root}`)
else {
  removeDir(server.dataDir)
  removeDir(root)
}
const profile = PROFILE ? summariseCpuProfiles(profDir, 30) : undefined
if (profDir && !keptProfDir) removeDir(profDir)

const linesPerS = caughtUpMs ? generated.total / (caughtUpMs / 1000) : null
const connectorMs = caughtUpMs ? Math.max(1, caughtUpMs - emptyStartupMs) : null
const passes = { lines_per_s: linesPerS !== null && stats?.lines === generated.total && linesPerS >= TARGET_LINES_PER_S }
report({
  benchmark: 'backfill',
  ...machine(),
  params: { lines: generated.total, workers: WORKERS, sessions: SESSIONS, files: generated.files, log_mb: bare.mb },
  figures: {
    lines_per_s: round(linesPerS, 0),
    lines_per_s_excluding_startup: connectorMs ? round(generated.total / (connectorMs / 1000), 0) : null,
    caught_up_after_s: caughtUpMs ? round(caughtUpMs / 1000, 2) : null,
    first_http_answer_after_s: round(firstAnswerMs / 1000, 2),
    bare_server_startup_s: round(emptyStartupMs / 1000, 2),
    polls,
    slowest_poll_ms: round(maxPollMs, 0),
    connector: stats && {
      lines: stats.lines, caught_up: stats.caught_up, events_stored: stats.events_stored, events_duplicate: stats.events_duplicate,
      events_rejected: stats.events_rejected, malformed: stats.malformed, unknown: stats.unknown, last_error: stats.last_error, records: stats.records,
    },
    /** CPU the server used from its start to caught up (user + system): unlike wall time, barely moved by other work on the machine. */
    server_cpu_s: round(serverCpuS, 2),
    server_cpu_us_per_line: serverCpuS === null ? null : round((serverCpuS * 1e6) / generated.total, 1),
    server_rss_after_mb: rss.rss_mb,
    server_peak_rss_mb: rss.peak_rss_mb,
    server_rss_after_anon_mb: rss.rss_anon_mb,
    server_rss_after_file_mb: rss.rss_file_mb,
    server_data_dir_mb: dataMb,
    timed_out: caughtUpMs === null,
  },
  baseline: {
    what: 'bare Node: read the same files (1 MB chunks) and JSON.parse every line, in this process',
    lines_per_s: round(bareRate, 0),
    elapsed_s: round(bare.ms / 1000, 2),
  },
  ratio_to_baseline: linesPerS ? round(linesPerS / bareRate, 3) : null,
  target: { lines_per_s_min: TARGET_LINES_PER_S },
  pass: passes,
  passed: Object.values(passes).every(Boolean),
  ...(profile ? { server_profile: profile } : {}),
})
