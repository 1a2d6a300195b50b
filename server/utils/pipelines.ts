/**
 * Pipelines: DAGs of stages, each done by a named agent or by a capable one. Definitions,
 * runs and stage runs are projections of `pipeline.*` events; this module decides what those
 * events are: it validates graphs, starts a run's stages as tasks routed to agents when their
 * dependencies have completed, skips the dependants of a failed stage, finishes runs, and
 * answers the read routes (list, detail, a dagre layout, metrics).
 *
 * The reactor (`reactToPipelineEvents`) is idempotent: it reads the stored state and ingests
 * follow-up events with ids derived from that state, so running it twice stores nothing new.
 */
import { Graph, layout } from '@dagrejs/dagre'
import type { PipelineStageStatus, RawEvent } from '../../shared/events'
import type { NotificationChannel, PipelineCreateBody, PipelineExecuteBody } from '../../shared/pipelines'
import { inScope, type Scope, scopeSql } from './access'
import { useConfig } from './config'
import { prepared, useDatabase } from './db'
import { apiError } from './errors'
import type { StoredEvent } from './event-bus'
import { iso, newId } from './ids'
import { ingest } from './ingest'
import { parseJson as parse, round } from './values'

/** The source of the events this module ingests (the plugin does not react to them again). */
export const PIPELINE_SOURCE = 'pipelines'

/** Runs imported from Marcus's legacy log: observed, never driven (no tasks are started for them). */
export const LEGACY_PIPELINE_TRIGGER = 'marcus-legacy'

export type StageDef = {
  id: string
  name: string
  agent_id?: string
  capability?: string
  depends_on?: string[]
  estimated_seconds?: number
}

type PipelineRow = { id: string, project_id: string, name: string, description: string | null, stages: string, created_at: number, updated_at: number }
type RunStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'
type RunRow = {
  id: string
  pipeline_id: string
  project_id: string
  status: RunStatus
  trigger: string | null
  parameters: string | null
  notifications: string | null
  started_at: number
  finished_at: number | null
}
export type StageRunRow = {
  run_id: string
  stage_id: string
  status: PipelineStageStatus
  agent_id: string | null
  task_id: string | null
  progress: number
  started_at: number | null
  finished_at: number | null
  error: string | null
  attempt: number
}

const FINISHED = new Set(['completed', 'failed', 'skipped', 'cancelled'])
const HEALTHY = new Set(['idle', 'busy', 'active'])

// ---------------------------------------------------------------------------------------
// Graphs

export type GraphIssue = { path: string, message: string }

/** Duplicate ids, unknown or self dependencies and cycles, as validation issues. */
export function stageGraphIssues(stages: StageDef[]): GraphIssue[] {
  const issues: GraphIssue[] = []
  const ids = new Set<string>()
  stages.forEach((s, i) => {
    if (ids.has(s.id)) issues.push({ path: `stages.${i}.id`, message: `duplicate stage id '${s.id}'` })
    ids.add(s.id)
  })
  stages.forEach((s, i) => (s.depends_on ?? []).forEach((dep, j) => {
    if (dep === s.id) issues.push({ path: `stages.${i}.depends_on.${j}`, message: `stage '${s.id}' depends on itself` })
    else if (!ids.has(dep)) issues.push({ path: `stages.${i}.depends_on.${j}`, message: `stage '${s.id}' depends on unknown stage '${dep}'` })
  }))
  if (issues.length) return issues
  const order = stageExecutionOrder(stages)
  if (order.length < stages.length) {
    const cyclic = stages.map(s => s.id).filter(id => !order.includes(id))
    issues.push({ path: 'stages', message: `dependency cycle through stages ${cyclic.map(id => `'${id}'`).join(', ')}` })
  }
  return issues
}

/** 400 VALIDATION_FAILED listing every problem of the graph. */
export function assertStageGraph(stages: StageDef[]) {
  const issues = stageGraphIssues(stages)
  if (issues.length) {
    throw apiError('VALIDATION_FAILED', `Invalid pipeline: ${issues.map(i => i.message).join('; ')}`, { issues })
  }
}

/**
 * Topological order (Kahn). Among stages ready at the same time, the one that started first
 * goes first (not started: last), then definition order. Stages in a cycle are left out.
 */
export function stageExecutionOrder(stages: StageDef[], startedAt: Map<string, number | null> = new Map()): string[] {
  const index = new Map(stages.map((s, i) => [s.id, i]))
  const waiting = new Map(stages.map(s => [s.id, new Set((s.depends_on ?? []).filter(d => index.has(d)))]))
  const order: string[] = []
  const key = (id: string) => [startedAt.get(id) ?? Number.POSITIVE_INFINITY, index.get(id)!] as const
  while (true) {
    const ready = [...waiting].filter(([, deps]) => deps.size === 0).map(([id]) => id)
    if (!ready.length) break
    ready.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1])
    const next = ready[0]!
    order.push(next)
    waiting.delete(next)
    for (const deps of waiting.values()) deps.delete(next)
  }
  return order
}

/** Every stage that depends on `stageId`, directly or not. */
export function stageDependants(stages: StageDef[], stageId: string): string[] {
  const out = new Set<string>()
  const visit = (id: string) => {
    for (const s of stages) {
      if ((s.depends_on ?? []).includes(id) && !out.has(s.id)) {
        out.add(s.id)
        visit(s.id)
      }
    }
  }
  visit(stageId)
  return [...out]
}

export type NodePosition = { x: number, y: number }

/** A layered left-to-right layout by dagre; positions are node centres. */
export function layoutPipelineStages(stages: StageDef[]): { positions: Map<string, NodePosition>, width: number, height: number } {
  const g = new Graph()
  g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 80, marginx: 20, marginy: 20 })
  g.setDefaultEdgeLabel(() => ({}))
  for (const s of stages) g.setNode(s.id, { label: s.name, width: 180, height: 60 })
  for (const s of stages) for (const dep of s.depends_on ?? []) if (g.hasNode(dep)) g.setEdge(dep, s.id)
  layout(g)
  const positions = new Map<string, NodePosition>()
  for (const s of stages) {
    const node = g.node(s.id)
    positions.set(s.id, { x: Math.round(node.x ?? 0), y: Math.round(node.y ?? 0) })
  }
  const graph = g.graph()
  return { positions, width: Math.round(graph.width ?? 0), height: Math.round(graph.height ?? 0) }
}

// ---------------------------------------------------------------------------------------
// Routing

export type AgentCandidate = { id: string, status: string, paused: boolean, capabilities: string[], open_tasks: number }

/**
 * The stage's own agent when it is healthy (idle, busy or active, not paused); otherwise the
 * healthy agent with the stage's capability holding the fewest open tasks (ties: by id).
 * `null`: nobody can take it now; the stage waits for one.
 */
export function chooseStageAgent(stage: Pick<StageDef, 'agent_id' | 'capability'>, candidates: AgentCandidate[]): string | null {
  const healthy = candidates.filter(a => HEALTHY.has(a.status) && !a.paused)
  if (stage.agent_id && healthy.some(a => a.id === stage.agent_id)) return stage.agent_id
  if (!stage.capability) return null
  const capable = healthy.filter(a => a.capabilities.includes(stage.capability!))
  capable.sort((a, b) => a.open_tasks - b.open_tasks || a.id.localeCompare(b.id))
  return capable[0]?.id ?? null
}

function agentCandidates(projectId: string): AgentCandidate[] {
  const rows = prepared(useDatabase().sqlite, `SELECT a.id, a.status, a.paused, a.capabilities,
      (SELECT count(*) FROM tasks t WHERE t.assigned_agent_id = a.id AND t.status IN ('todo', 'in_progress')) AS open_tasks
    FROM agents a WHERE a.project_id = ? AND a.kind = 'agent'`).all(projectId) as { id: string, status: string, paused: number, capabilities: string, open_tasks: number }[]
  return rows.map(r => ({ id: r.id, status: r.status, paused: r.paused === 1, capabilities: parse<string[]>(r.capabilities, []), open_tasks: r.open_tasks }))
}

// ---------------------------------------------------------------------------------------
// Advancing runs

function stageRuns(runId: string): StageRunRow[] {
  return prepared(useDatabase().sqlite, `SELECT run_id, stage_id, status, agent_id, task_id, progress, started_at, finished_at, error, attempt
    FROM pipeline_stage_runs WHERE run_id = ?`).all(runId) as StageRunRow[]
}

function runRow(runId: string): RunRow | undefined {
  return prepared(useDatabase().sqlite, 'SELECT * FROM pipeline_runs WHERE id = ?').get(runId) as RunRow | undefined
}

function pipelineRow(id: string): PipelineRow | undefined {
  return prepared(useDatabase().sqlite, 'SELECT * FROM pipelines WHERE id = ?').get(id) as PipelineRow | undefined
}

/** The task that carries one attempt of a stage. */
export function stageTaskId(runId: string, stageId: string, attempt: number): string {
  return `${runId}.${stageId}.${attempt}`
}

/**
 * The events that move a running run on from its stored state: dependants of a failed stage
 * are skipped, stages whose dependencies all completed start (a task, assigned to a capable
 * agent), and a run with every stage finished finishes — `failed` if a stage failed,
 * `cancelled` if one was cancelled, else `completed`.
 */
export function advancePipelineRun(runId: string): RawEvent[] {
  const run = runRow(runId)
  if (!run || run.status !== 'running' || run.trigger === LEGACY_PIPELINE_TRIGGER) return []
  const pipeline = pipelineRow(run.pipeline_id)
  if (!pipeline) return []
  const stages = parse<StageDef[]>(pipeline.stages, [])
  const rows = new Map(stageRuns(runId).map(r => [r.stage_id, r]))
  const status = new Map([...rows].map(([id, r]) => [id, r.status as string]))
  const base = { project_id: run.project_id, pipeline_id: run.pipeline_id, run_id: runId }
  const out: RawEvent[] = []
  let candidates: AgentCandidate[] | undefined

  for (const stageId of stageExecutionOrder(stages)) {
    const stage = stages.find(s => s.id === stageId)!
    const row = rows.get(stageId)
    if (!row || status.get(stageId) !== 'pending') continue
    const deps = (stage.depends_on ?? []).map(d => status.get(d) ?? 'pending')
    if (deps.some(d => d === 'failed' || d === 'skipped' || d === 'cancelled')) {
      status.set(stageId, 'skipped')
      out.push({ ...base, kind: 'pipeline.stage.updated', id: `pl:${runId}:${stageId}:${row.attempt}:skipped`, stage_id: stageId, status: 'skipped', error: 'a stage it depends on did not complete' })
      continue
    }
    if (!deps.every(d => d === 'completed')) continue
    candidates ??= agentCandidates(run.project_id)
    const agentId = chooseStageAgent(stage, candidates)
    const taskId = row.task_id ?? stageTaskId(runId, stageId, row.attempt)
    if (!row.task_id) {
      out.push({
        kind: 'task.upserted', id: `pl:${taskId}:task`, project_id: run.project_id, task_id: taskId, name: `${pipeline.name}: ${stage.name}`,
        description: `Stage '${stage.id}' of pipeline '${pipeline.name}' (run ${runId}, attempt ${row.attempt})`, status: 'todo',
        labels: ['pipeline', `pipeline:${pipeline.id}`, `stage:${stage.id}`], pipeline_run_id: runId,
        ...(stage.estimated_seconds === undefined ? {} : { estimated_hours: stage.estimated_seconds / 3600 }),
      })
    }
    if (agentId) {
      candidates.find(c => c.id === agentId)!.open_tasks++
      status.set(stageId, 'running')
      out.push(
        { kind: 'task.assigned', id: `pl:${taskId}:assign`, project_id: run.project_id, task_id: taskId, agent_id: agentId, task_name: `${pipeline.name}: ${stage.name}` },
        { ...base, kind: 'pipeline.stage.updated', id: `pl:${taskId}:running`, stage_id: stageId, status: 'running', agent_id: agentId, task_id: taskId, progress: 0 },
      )
    }
    else if (!row.task_id) {
      // Nobody can take it now: the task waits, unassigned, and the stage with it.
      out.push({ ...base, kind: 'pipeline.stage.updated', id: `pl:${taskId}:queued`, stage_id: stageId, status: 'pending', task_id: taskId })
    }
  }

  const states = stages.map(s => status.get(s.id) ?? 'pending')
  if (states.length && states.every(s => FINISHED.has(s))) {
    const final = states.includes('failed') ? 'failed' : states.includes('cancelled') ? 'cancelled' : states.every(s => s === 'completed') ? 'completed' : 'failed'
    const generation = [...rows.values()].reduce((n, r) => n + r.attempt, 0)
    out.push({ ...base, kind: 'pipeline.run.finished', id: `pl:${runId}:finished:${generation}`, status: final })
  }
  return out
}

type TaskState = { status: string, progress: number, assigned_agent_id: string | null }

/**
 * A task report about a stage's task moves the stage: done → completed, failed or cancelled
 * → failed, otherwise running with the task's progress. A stage finished through a
 * `pipeline.stage.updated` report finishes its task too.
 */
function followUps(event: StoredEvent): { events: RawEvent[], runs: string[] } {
  const { sqlite } = useDatabase()
  const p = event.payload
  const ours = event.source === PIPELINE_SOURCE
  if (!ours && (event.kind === 'task.progress' || (event.kind === 'task.upserted' && typeof p.status === 'string'))) {
    const taskId = String(p.task_id)
    const stage = prepared(sqlite, `SELECT s.run_id, s.stage_id, s.status, r.pipeline_id, r.project_id FROM pipeline_stage_runs s
      JOIN pipeline_runs r ON r.id = s.run_id WHERE s.task_id = ? AND s.status IN ('pending', 'running') AND r.status = 'running'`)
      .get(taskId) as { run_id: string, stage_id: string, status: string, pipeline_id: string, project_id: string } | undefined
    const task = prepared(sqlite, 'SELECT status, progress, assigned_agent_id FROM tasks WHERE id = ?').get(taskId) as TaskState | undefined
    if (!stage || !task || stage.project_id !== event.projectId) return { events: [], runs: [] }
    const status = task.status === 'done' ? 'completed' : task.status === 'failed' || task.status === 'cancelled' ? 'failed' : 'running'
    if (status === 'running' && stage.status === 'pending' && !task.assigned_agent_id) return { events: [], runs: [] }
    const message = typeof p.message === 'string' ? p.message.slice(0, 10_000) : undefined
    return {
      events: [{
        kind: 'pipeline.stage.updated', id: `${event.id}:stage`, project_id: stage.project_id, pipeline_id: stage.pipeline_id, run_id: stage.run_id,
        stage_id: stage.stage_id, status, progress: status === 'completed' ? 1 : task.progress,
        ...(task.assigned_agent_id ? { agent_id: task.assigned_agent_id } : {}),
        ...(status === 'failed' ? { error: message ?? `task ${taskId} ${task.status}` } : {}),
      }],
      runs: [],
    }
  }
  if (event.kind === 'pipeline.stage.updated') {
    const runId = String(p.run_id)
    const events: RawEvent[] = []
    const status = p.status
    if ((status === 'completed' || status === 'failed') && !ours) {
      const row = prepared(sqlite, 'SELECT task_id, agent_id FROM pipeline_stage_runs WHERE run_id = ? AND stage_id = ?').get(runId, String(p.stage_id)) as { task_id: string | null, agent_id: string | null } | undefined
      const task = row?.task_id ? prepared(sqlite, 'SELECT status, progress, assigned_agent_id FROM tasks WHERE id = ?').get(row.task_id) as TaskState | undefined : undefined
      if (row?.task_id && task && !['done', 'failed', 'cancelled'].includes(task.status)) {
        events.push({
          kind: 'task.progress', id: `${event.id}:task`, project_id: event.projectId, task_id: row.task_id, status: status === 'completed' ? 'done' : 'failed',
          ...(task.assigned_agent_id ? { agent_id: task.assigned_agent_id } : {}),
          ...(typeof p.error === 'string' ? { message: p.error } : {}),
        })
      }
    }
    return { events, runs: [runId] }
  }
  if (event.kind === 'pipeline.run.started') return { events: [], runs: [String(p.run_id)] }
  return { events: [], runs: [] }
}

/** Runs of the project with a stage waiting for an agent. */
function waitingRuns(projectId: string): string[] {
  return (prepared(useDatabase().sqlite, `SELECT DISTINCT r.id FROM pipeline_runs r JOIN pipeline_stage_runs s ON s.run_id = r.id
    WHERE r.project_id = ? AND r.status = 'running' AND s.status = 'pending' AND s.task_id IS NOT NULL`).all(projectId) as { id: string }[]).map(r => r.id)
}

const REACTION_ROUNDS = 50

/**
 * Ingests what follows from stored events, then what follows from those, until nothing does.
 * Returns every event it stored.
 */
export function reactToPipelineEvents(events: StoredEvent[]): StoredEvent[] {
  const stored: StoredEvent[] = []
  let batch = events
  for (let round = 0; round < REACTION_ROUNDS && batch.length; round++) {
    const next: RawEvent[] = []
    const runs = new Set<string>()
    // An agent came back, registered or was resumed: stages waiting for one may start.
    const agentProjects = new Set<string>()
    for (const event of batch) {
      if (event.kind.startsWith('agent.') || event.kind === 'command.updated') {
        agentProjects.add(event.projectId)
        continue
      }
      const f = followUps(event)
      next.push(...f.events)
      f.runs.forEach(r => runs.add(r))
    }
    for (const projectId of agentProjects) waitingRuns(projectId).forEach(r => runs.add(r))
    for (const runId of runs) next.push(...advancePipelineRun(runId))
    if (!next.length) break
    const outcome = ingest(next, PIPELINE_SOURCE)
    for (const r of outcome.results) {
      if (r.status === 'rejected') console.warn('[seneca] pipeline follow-up rejected', r.id, r.error)
    }
    stored.push(...outcome.events)
    batch = outcome.events
  }
  return stored
}

/** Whether an event may move a pipeline run on (the plugin reacts to these). */
export function movesPipelines(event: StoredEvent): boolean {
  return event.kind.startsWith('pipeline.') || event.kind === 'task.progress' || event.kind === 'task.upserted'
    || event.kind.startsWith('agent.') || event.kind === 'command.updated'
}

// ---------------------------------------------------------------------------------------
// Metrics and views

export type PipelineMetrics = { total_duration: number | null, success_rate: number | null, avg_stage_time: number | null, runs: number }

/**
 * From stored runs: `total_duration` is the mean duration in seconds of finished (completed or
 * failed) runs, or the elapsed time of the latest run while none has finished;
 * `success_rate` completed ÷ (completed + failed) runs (cancelled runs say nothing about
 * success); `avg_stage_time` the mean seconds of completed stage runs.
 */
export function pipelineMetrics(runs: Pick<RunRow, 'status' | 'started_at' | 'finished_at'>[], stages: Pick<StageRunRow, 'status' | 'started_at' | 'finished_at'>[], now = Date.now()): PipelineMetrics {
  const finished = runs.filter(r => (r.status === 'completed' || r.status === 'failed') && r.finished_at !== null)
  const latest = [...runs].sort((a, b) => b.started_at - a.started_at)[0]
  const total = finished.length
    ? finished.reduce((s, r) => s + (r.finished_at! - r.started_at), 0) / finished.length / 1000
    : latest ? ((latest.finished_at ?? now) - latest.started_at) / 1000 : null
  const timed = stages.filter(s => s.status === 'completed' && s.started_at !== null && s.finished_at !== null)
  return {
    total_duration: total === null ? null : round(total, 3),
    success_rate: finished.length ? round(finished.filter(r => r.status === 'completed').length / finished.length, 4) : null,
    avg_stage_time: timed.length ? round(timed.reduce((s, r) => s + (r.finished_at! - r.started_at!), 0) / timed.length / 1000, 3) : null,
    runs: runs.length,
  }
}

function stageView(stage: StageDef, row: StageRunRow | undefined, now: number) {
  const started = row?.started_at ?? null
  return {
    id: stage.id,
    name: stage.name,
    status: row?.status ?? 'pending',
    /** Seconds: finished − started, or so far while running. */
    duration: started === null ? null : round(((row!.finished_at ?? now) - started) / 1000, 3),
    progress: row?.progress ?? 0,
    agent: row?.agent_id ?? stage.agent_id ?? null,
    capability: stage.capability ?? null,
    depends_on: stage.depends_on ?? [],
    task_id: row?.task_id ?? null,
    attempt: row?.attempt ?? 0,
    started_at: iso(started),
    finished_at: iso(row?.finished_at),
    error: row?.error ?? null,
  }
}

function runView(run: RunRow, stages: StageDef[], rows: StageRunRow[], now: number) {
  const byStage = new Map(rows.map(r => [r.stage_id, r]))
  return {
    id: run.id,
    pipeline_id: run.pipeline_id,
    project_id: run.project_id,
    status: run.status,
    trigger: run.trigger,
    parameters: parse<Record<string, unknown>>(run.parameters, {}),
    notifications: parse<Record<string, string[]>>(run.notifications, {}),
    started_at: iso(run.started_at)!,
    finished_at: iso(run.finished_at),
    duration: round(((run.finished_at ?? now) - run.started_at) / 1000, 3),
    stages: stages.map(s => stageView(s, byStage.get(s.id), now)),
    execution_path: stageExecutionOrder(stages, new Map(rows.map(r => [r.stage_id, r.started_at]))),
  }
}

type TargetRow = { pipeline_id: string, channel: NotificationChannel, config: string }

/** Configured channels, secrets left out (a webhook URL is shown, a Slack URL carries a token: only its origin). */
function targetsView(rows: TargetRow[]) {
  return rows.map((t) => {
    const config = parse<{ url?: string, secret?: string, to?: string[] }>(t.config, {})
    if (t.channel === 'webhook') return { channel: t.channel, url: config.url ?? null, secret_set: !!config.secret }
    if (t.channel === 'slack') return { channel: t.channel, url: config.url ? `${new URL(config.url).origin}/…` : null, secret_set: false }
    return { channel: t.channel, to: config.to ?? [], secret_set: false }
  })
}

function pipelineView(p: PipelineRow, runs: RunRow[], stageRowsOf: (runId: string) => StageRunRow[], allStageRows: StageRunRow[], now: number) {
  const stages = parse<StageDef[]>(p.stages, [])
  const latest = runs[0]
  const latestRows = latest ? stageRowsOf(latest.id) : []
  const byStage = new Map(latestRows.map(r => [r.stage_id, r]))
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    project_id: p.project_id,
    /** The latest run's status; `idle` before the first run. */
    status: latest?.status ?? ('idle' as const),
    latest_run_id: latest?.id ?? null,
    stages: stages.map(s => stageView(s, byStage.get(s.id), now)),
    metrics: pipelineMetrics(runs, allStageRows, now),
    created_at: iso(p.created_at)!,
    updated_at: iso(p.updated_at)!,
  }
}

function visiblePipeline(id: string, scope: Scope): PipelineRow {
  const row = pipelineRow(id)
  if (!row || !inScope(scope, row.project_id)) throw apiError('PIPELINE_NOT_FOUND', `Pipeline with ID '${id}' does not exist`, { pipeline_id: id })
  return row
}

function visibleRun(pipeline: PipelineRow, runId: string): RunRow {
  const run = runRow(runId)
  if (!run || run.pipeline_id !== pipeline.id) throw apiError('PIPELINE_RUN_NOT_FOUND', `Run '${runId}' of pipeline '${pipeline.id}' does not exist`, { pipeline_id: pipeline.id, run_id: runId })
  return run
}

function runsOf(pipelineId: string, limit = 1000): RunRow[] {
  return prepared(useDatabase().sqlite, 'SELECT * FROM pipeline_runs WHERE pipeline_id = ? ORDER BY started_at DESC, id DESC LIMIT ?').all(pipelineId, limit) as RunRow[]
}

function stageRowsOfPipeline(pipelineId: string): StageRunRow[] {
  return prepared(useDatabase().sqlite, `SELECT s.run_id, s.stage_id, s.status, s.agent_id, s.task_id, s.progress, s.started_at, s.finished_at, s.error, s.attempt
    FROM pipeline_stage_runs s JOIN pipeline_runs r ON r.id = s.run_id WHERE r.pipeline_id = ?`).all(pipelineId) as StageRunRow[]
}

export function listPipelines(filters: { project_id?: string }, scope: Scope) {
  const params: Record<string, unknown> = {}
  const where = scopeSql('project_id', scope, params)
  if (filters.project_id) {
    where.push('project_id = @project')
    params.project = filters.project_id
  }
  const rows = prepared(useDatabase().sqlite, `SELECT * FROM pipelines ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name, id`).all(params) as PipelineRow[]
  const now = Date.now()
  const pipelines = rows.map((p) => {
    const stageRows = stageRowsOfPipeline(p.id)
    return pipelineView(p, runsOf(p.id), runId => stageRows.filter(r => r.run_id === runId), stageRows, now)
  })
  return { pipelines, total: pipelines.length }
}

export function getPipelineDetail(id: string, scope: Scope) {
  const p = visiblePipeline(id, scope)
  const now = Date.now()
  const stageRows = stageRowsOfPipeline(p.id)
  const runs = runsOf(p.id)
  const stages = parse<StageDef[]>(p.stages, [])
  const targets = prepared(useDatabase().sqlite, 'SELECT pipeline_id, channel, config FROM pipeline_notification_targets WHERE pipeline_id = ? ORDER BY channel').all(p.id) as TargetRow[]
  return {
    ...pipelineView(p, runs, runId => stageRows.filter(r => r.run_id === runId), stageRows, now),
    notification_targets: targetsView(targets),
    recent_runs: runs.slice(0, 10).map(r => runView(r, stages, stageRows.filter(s => s.run_id === r.id), now)),
  }
}

export function getPipelineRun(id: string, runId: string, scope: Scope) {
  const p = visiblePipeline(id, scope)
  const run = visibleRun(p, runId)
  return runView(run, parse<StageDef[]>(p.stages, []), stageRuns(run.id), Date.now())
}

export function pipelineVisualization(id: string, runId: string | undefined, scope: Scope) {
  const p = visiblePipeline(id, scope)
  const stages = parse<StageDef[]>(p.stages, [])
  const run = runId ? visibleRun(p, runId) : runsOf(p.id, 1)[0]
  const rows = new Map((run ? stageRuns(run.id) : []).map(r => [r.stage_id, r]))
  const { positions, width, height } = layoutPipelineStages(stages)
  return {
    pipeline_id: p.id,
    run_id: run?.id ?? null,
    run_status: run?.status ?? null,
    nodes: stages.map(s => ({
      id: s.id,
      type: 'process' as const,
      label: s.name,
      position: positions.get(s.id)!,
      status: rows.get(s.id)?.status ?? 'pending',
      agent: rows.get(s.id)?.agent_id ?? s.agent_id ?? null,
      progress: rows.get(s.id)?.progress ?? 0,
    })),
    edges: stages.flatMap(s => (s.depends_on ?? []).map(dep => ({ id: `${dep}->${s.id}`, source: dep, target: s.id, type: 'dependency' as const }))),
    layout: 'dagre' as const,
    width,
    height,
    execution_path: stageExecutionOrder(stages, new Map([...rows].map(([k, r]) => [k, r.started_at]))),
  }
}

// ---------------------------------------------------------------------------------------
// Writes

export function smtpConfigured(): boolean {
  return !!useConfig().notifications.smtpUrl
}

function assertEmailPossible(path: string) {
  if (!smtpConfigured()) {
    throw apiError('VALIDATION_FAILED', 'Email notifications need an SMTP server: set SENECA_SMTP_URL (smtp://user:pass@host:port)', { issues: [{ path, message: 'email is not configured on this server (SENECA_SMTP_URL)' }] })
  }
}

export function definePipeline(body: PipelineCreateBody) {
  assertStageGraph(body.stages)
  if (body.notification_targets?.email) assertEmailPossible('notification_targets.email')
  const id = body.id ?? newId('pipe')
  const { sqlite } = useDatabase()
  if (pipelineRow(id)) throw apiError('CONFLICT', `Pipeline '${id}' already exists`, { pipeline_id: id })
  const outcome = ingest([{
    kind: 'pipeline.defined', project_id: body.project_id, pipeline_id: id, name: body.name,
    ...(body.description === undefined ? {} : { description: body.description }), stages: body.stages,
  }], PIPELINE_SOURCE, { projects: [body.project_id] })
  const result = outcome.results[0]!
  if (result.status === 'rejected') throw apiError('CONFLICT', result.error?.message ?? 'the pipeline was not stored', { pipeline_id: id })
  const insert = prepared(sqlite, `INSERT OR REPLACE INTO pipeline_notification_targets (pipeline_id, channel, project_id, config, created_at) VALUES (?, ?, ?, ?, ?)`)
  for (const [channel, config] of Object.entries(body.notification_targets ?? {})) {
    if (config) insert.run(id, channel, body.project_id, JSON.stringify(config), Date.now())
  }
  return getPipelineDetail(id, null)
}

export function executePipeline(id: string, body: PipelineExecuteBody, scope: Scope) {
  const p = visiblePipeline(id, scope)
  const configured = new Set((prepared(useDatabase().sqlite, 'SELECT channel FROM pipeline_notification_targets WHERE pipeline_id = ?').all(p.id) as { channel: string }[]).map(r => r.channel))
  const issues: { path: string, message: string }[] = []
  for (const when of ['on_completion', 'on_failure'] as const) {
    ;(body.notifications?.[when] ?? []).forEach((channel, i) => {
      if (channel === 'email' && !smtpConfigured()) issues.push({ path: `notifications.${when}.${i}`, message: 'email is not configured on this server (SENECA_SMTP_URL)' })
      else if (!configured.has(channel)) issues.push({ path: `notifications.${when}.${i}`, message: `the pipeline has no ${channel} target (notification_targets.${channel})` })
    })
  }
  if (issues.length) throw apiError('VALIDATION_FAILED', `Invalid notifications: ${issues.map(i => `${i.path}: ${i.message}`).join('; ')}`, { issues })
  const notifications = body.notifications ?? { on_completion: [...configured], on_failure: [...configured] }
  const runId = newId('run')
  const outcome = ingest([{
    kind: 'pipeline.run.started', project_id: p.project_id, pipeline_id: p.id, run_id: runId, trigger: body.trigger,
    ...(body.parameters === undefined ? {} : { parameters: body.parameters }), notifications,
  }], PIPELINE_SOURCE)
  reactToPipelineEvents(outcome.events)
  return getPipelineRun(p.id, runId, null)
}

export function cancelPipelineRun(id: string, runId: string, reason: string | undefined, scope: Scope) {
  const p = visiblePipeline(id, scope)
  const run = visibleRun(p, runId)
  if (run.status !== 'running' && run.status !== 'pending') {
    throw apiError('CONFLICT', `Run '${runId}' is ${run.status}; only a running run can be cancelled`, { run_id: runId, status: run.status })
  }
  const outcome = ingest([{ kind: 'pipeline.run.finished', project_id: p.project_id, pipeline_id: p.id, run_id: runId, status: 'cancelled', ...(reason ? { reason } : {}) }], PIPELINE_SOURCE)
  reactToPipelineEvents(outcome.events)
  return getPipelineRun(p.id, runId, null)
}

/**
 * Retries a failed stage in the same run: the stage and its dependants that did not complete
 * go back to `pending` (a new attempt each, with a new task), and the run reopens. Completed
 * stages keep their results.
 */
export function retryPipelineStage(id: string, runId: string, stageId: string, scope: Scope) {
  const p = visiblePipeline(id, scope)
  const run = visibleRun(p, runId)
  const rows = new Map(stageRuns(runId).map(r => [r.stage_id, r]))
  const stage = rows.get(stageId)
  if (!stage) throw apiError('VALIDATION_FAILED', `Pipeline '${p.id}' has no stage '${stageId}'`, { issues: [{ path: 'stage_id', message: `unknown stage '${stageId}'` }] })
  if (run.status !== 'failed' || stage.status !== 'failed') {
    throw apiError('CONFLICT', `Only a failed stage of a failed run can be retried (run ${run.status}, stage ${stage.status})`, { run_id: runId, stage_id: stageId, run_status: run.status, stage_status: stage.status })
  }
  const stages = parse<StageDef[]>(p.stages, [])
  const again = [stageId, ...stageDependants(stages, stageId).filter(s => rows.get(s)?.status !== 'completed')]
  const outcome = ingest(again.map(s => ({
    kind: 'pipeline.stage.updated', project_id: p.project_id, pipeline_id: p.id, run_id: runId, stage_id: s, status: 'pending',
  })), PIPELINE_SOURCE)
  reactToPipelineEvents(outcome.events)
  return getPipelineRun(p.id, runId, null)
}

type DeliveryRow = {
  delivery_id: string
  attempt: number
  run_id: string
  channel: string
  event: string
  status: 'delivered' | 'retrying' | 'failed'
  status_code: number | null
  error: string | null
  duration_ms: number
  ts: number
}

export function listNotificationDeliveries(id: string, limit: number, scope: Scope) {
  const p = visiblePipeline(id, scope)
  const rows = prepared(useDatabase().sqlite, `SELECT delivery_id, attempt, run_id, channel, event, status, status_code, error, duration_ms, ts
    FROM notification_deliveries WHERE pipeline_id = ? ORDER BY seq DESC LIMIT ?`).all(p.id, limit) as DeliveryRow[]
  return {
    pipeline_id: p.id,
    deliveries: rows.map(r => ({ ...r, ts: iso(r.ts)! })),
    total: rows.length,
  }
}

/** For notifications: the run as the webhook payload shows it. */
export function pipelineRunSnapshot(runId: string) {
  const run = runRow(runId)
  if (!run) return undefined
  const p = pipelineRow(run.pipeline_id)
  if (!p) return undefined
  const view = runView(run, parse<StageDef[]>(p.stages, []), stageRuns(runId), Date.now())
  const targets = prepared(useDatabase().sqlite, 'SELECT pipeline_id, channel, config FROM pipeline_notification_targets WHERE pipeline_id = ?').all(p.id) as TargetRow[]
  return { pipeline: { id: p.id, name: p.name, project_id: p.project_id }, run: view, targets: targets.map(t => ({ channel: t.channel, config: parse<Record<string, unknown>>(t.config, {}) })) }
}
