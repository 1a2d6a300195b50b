/**
 * Incremental state for the insight modules (memory, patterns, predictions). It follows the
 * event log with a watermark, like the full-text index: after each ingest commit (and before
 * each insight read) the events past the watermark name the tasks, blockers and messages that
 * changed; each changed task or blocker is recomputed from its rows and its previous
 * contribution to the counters is replaced by the new one (delta, never a rescan). Reads then
 * sum a handful of rollup rows, so they cost the same with 100 tasks or 100,000.
 */
import type { Statement } from 'better-sqlite3'
import { BOARD, COORDINATOR } from '../marcus/mapping'
import { type Sqlite, useDatabase } from '../utils/db'
import { deferDuringBulkImport } from '../utils/event-bus'
import { directConversationId } from '../utils/projections'
import { parseJson } from '../utils/values'

export const HOUR = 3_600_000
export const DAY = 24 * HOUR
export const WEEK = 7 * DAY
/** Events applied per transaction. */
const CHUNK = 5_000
/** A loop: at least this many consecutive near-identical messages of one sender in one conversation. */
export const LOOP_MIN_REPEATS = 3
/** Near-identical: Jaccard similarity of word 3-shingles of the normalised texts at least this. */
export const LOOP_SIMILARITY = 0.8
/** Message ids kept as evidence per streak. */
const STREAK_IDS = 10
/** Message types that record reasoning, not something said to someone: never a loop. */
const NOT_SPOKEN = new Set(['thinking', 'decision'])

/** insight_state rows `activity:<project>`: the time of the project's latest work event (the default "as of" of stall detection). */
export const ACTIVITY = 'activity:'

/**
 * insight_state rows `graph:<project>`: a generation bumped whenever a task or dependency of
 * the project may have changed; the context module keeps each project's dependency graph in
 * memory and reloads it when the generation moves.
 */
export const GRAPH = 'graph:'

const TASK_KINDS = ['task.upserted', 'task.assigned', 'task.progress', 'blocker.reported', 'blocker.resolved', 'pipeline.run.finished', 'pipeline.stage.updated',
  'command.updated', 'message']

// ---------------------------------------------------------------------------------------
// Pure helpers (unit-tested)

/** Monday 00:00 UTC of the ISO week holding `ts` (1970-01-01 was a Thursday). */
export function weekStart(ts: number): number {
  const day = Math.floor(ts / DAY)
  return (day - ((day + 3) % 7 + 7) % 7) * DAY
}

/**
 * Text reduced to what makes two messages "the same": lower case, ids and numbers replaced
 * by `#`, punctuation dropped, whitespace collapsed, at most 500 characters.
 */
export function normaliseText(text: string): string {
  return text.toLowerCase()
    .replace(/#/g, ' ')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '#')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/g, '#')
    .replace(/\d+(?:[.,]\d+)*/g, '#')
    .replace(/[^\p{L}#]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500)
}

/** The key blockers recur under: the first 12 words of the normalised description. */
export function blockerKey(description: string): string {
  return normaliseText(description).split(' ').slice(0, 12).join(' ') || '(empty)'
}

/** Word 3-shingles of a normalised text (the whole text when it has fewer than 3 words). */
export function shingles(text: string): Set<string> {
  const words = text.split(' ').filter(Boolean)
  if (words.length < 3) return new Set([words.join(' ')])
  const out = new Set<string>()
  for (let i = 0; i + 3 <= words.length; i++) out.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`)
  return out
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1
  let common = 0
  for (const s of a) if (b.has(s)) common++
  return common / (a.size + b.size - common)
}

export type Counters = {
  tasks: number
  succeeded: number
  failed: number
  blocked: number
  handed_off: number
  open: number
  est_n: number
  est_sum: number
  act_sum: number
  ape_sum: number
  gap_n: number
  gap_sum: number
}

export const zeroCounters = (): Counters => ({ tasks: 0, succeeded: 0, failed: 0, blocked: 0, handed_off: 0, open: 0, est_n: 0, est_sum: 0, act_sum: 0, ape_sum: 0, gap_n: 0, gap_sum: 0 })

export type WeekCounters = { finished: number, succeeded: number, failed: number, blocked: number, est_n: number, est_sum: number, act_sum: number, ape_sum: number }

/** What one task adds to the counters. */
export type TaskContribution = {
  labels: string[]
  agents: { agent: string, c: Counters }[]
  weeks: { agent: string, week: number, c: WeekCounters }[]
  /** The UTC hour of its completion and its estimate, when done. */
  completion: { hour: number, estimate: number } | null
}

export type TaskInput = {
  id: string
  status: string
  assigned_agent_id: string | null
  estimated_hours: number | null
  labels: string[]
  started_at: number | null
  completed_at: number | null
  updated_at: number
}
export type HistoryInput = { agent_id: string | null, action: string, ts: number }
export type BlockerInput = { agent_id: string | null, reported_at: number }

/**
 * The contribution of one task, from its row, its history and its blockers:
 * - every agent that held it counts it in `tasks`; the agent holding it at the end owns the
 *   outcome (`succeeded` when done, `failed` when failed, `open` otherwise unless cancelled);
 * - an agent that reported a blocker on it counts it `blocked`; one it was taken from
 *   (re-assigned to another agent) counts it `handed_off`;
 * - estimation accuracy, for done tasks with an estimate: actual = completed − started in
 *   hours, absolute percentage error |actual − estimate| ÷ estimate;
 * - the gaps between consecutive assignment/progress reports of the same agent measure how
 *   often it usually reports (stall detection compares against them).
 * `roleLabel` stands in for the labels of an unlabeled task (`role:<agent type>`).
 */
export function taskContribution(task: TaskInput, history: HistoryInput[], blockers: BlockerInput[], roleLabel: string | null): TaskContribution {
  const labels = task.labels.length ? [...new Set(task.labels)] : [roleLabel ?? 'unlabeled']
  const owner = task.assigned_agent_id
  const agents = new Map<string, Counters>()
  const of = (agent: string) => {
    let c = agents.get(agent)
    if (!c) {
      c = { ...zeroCounters(), tasks: 1 }
      agents.set(agent, c)
    }
    return c
  }
  const sorted = [...history].sort((a, b) => a.ts - b.ts)
  const blockedAt = new Map<string, number>()
  let previous: HistoryInput | undefined
  for (const h of sorted) {
    if (!h.agent_id) continue
    const c = of(h.agent_id)
    if (h.action === 'unassigned' && h.agent_id !== owner) c.handed_off = 1
    if (h.action === 'blocked' && !blockedAt.has(h.agent_id)) blockedAt.set(h.agent_id, h.ts)
    const reports = h.action === 'assigned' || h.action === 'requeued' || h.action === 'progress'
    if (reports && previous && previous.agent_id === h.agent_id && (previous.action === 'assigned' || previous.action === 'requeued' || previous.action === 'progress')) {
      c.gap_n++
      c.gap_sum += h.ts - previous.ts
    }
    previous = h
  }
  for (const b of blockers) {
    if (b.agent_id && (!blockedAt.has(b.agent_id) || blockedAt.get(b.agent_id)! > b.reported_at)) blockedAt.set(b.agent_id, b.reported_at)
  }
  for (const agent of blockedAt.keys()) of(agent).blocked = 1

  const weeks: TaskContribution['weeks'] = []
  let completion: TaskContribution['completion'] = null
  if (owner) {
    const c = of(owner)
    const week = { finished: 0, succeeded: 0, failed: 0, blocked: 0, est_n: 0, est_sum: 0, act_sum: 0, ape_sum: 0 }
    if (task.status === 'done') {
      c.succeeded = 1
      week.finished = 1
      week.succeeded = 1
      const est = task.estimated_hours
      if (est && est > 0 && task.started_at !== null && task.completed_at !== null && task.completed_at >= task.started_at) {
        const actual = (task.completed_at - task.started_at) / HOUR
        const ape = Math.abs(actual - est) / est
        c.est_n = week.est_n = 1
        c.est_sum = week.est_sum = est
        c.act_sum = week.act_sum = actual
        c.ape_sum = week.ape_sum = ape
      }
      if (task.completed_at !== null) completion = { hour: Math.floor(task.completed_at / HOUR) * HOUR, estimate: task.estimated_hours ?? 0 }
    }
    else if (task.status === 'failed') {
      c.failed = 1
      week.finished = 1
      week.failed = 1
    }
    else if (task.status !== 'cancelled') c.open = 1
    if (week.finished) weeks.push({ agent: owner, week: weekStart(task.completed_at ?? task.updated_at), c: week })
  }
  for (const [agent, ts] of blockedAt) {
    const w = weekStart(ts)
    const existing = weeks.find(x => x.agent === agent && x.week === w)
    if (existing) existing.c.blocked = 1
    else weeks.push({ agent, week: w, c: { finished: 0, succeeded: 0, failed: 0, blocked: 1, est_n: 0, est_sum: 0, act_sum: 0, ape_sum: 0 } })
  }
  return { labels, agents: [...agents].map(([agent, c]) => ({ agent, c })), weeks, completion }
}

// ---------------------------------------------------------------------------------------
// The follower

type Follower = {
  sqlite: Sqlite
  st: Record<string, Statement>
  agentKinds: Map<string, { kind: string, type: string | null } | null>
  run: (limit: number) => { applied: number, behind: number }
}

let follower: Follower | undefined

function useFollower(): Follower {
  const { sqlite } = useDatabase()
  if (follower?.sqlite === sqlite) return follower
  const p = (sql: string) => sqlite.prepare(sql)
  const counterCols = ['tasks', 'succeeded', 'failed', 'blocked', 'handed_off', 'open', 'est_n', 'est_sum', 'act_sum', 'ape_sum', 'gap_n', 'gap_sum']
  const weekCols = ['finished', 'succeeded', 'failed', 'blocked', 'est_n', 'est_sum', 'act_sum', 'ape_sum']
  const st: Record<string, Statement> = {
    watermark: p(`SELECT value FROM insight_state WHERE name = 'events'`),
    initWatermark: p(`INSERT OR IGNORE INTO insight_state (name, value) VALUES ('events', 0)`),
    advance: p(`UPDATE insight_state SET value = ? WHERE name = 'events' AND value = ?`),
    activity: p(`INSERT INTO insight_state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)`),
    bumpGraph: p(`INSERT INTO insight_state (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1`),
    latest: p(`SELECT coalesce(max(seq), 0) AS n FROM events`),
    events: p(`SELECT seq, id, kind, project_id, ts, payload FROM events WHERE seq > ? AND seq <= ?
      AND kind IN (${TASK_KINDS.map(k => `'${k}'`).join(', ')}) ORDER BY seq LIMIT ?`),
    task: p(`SELECT id, project_id, name, status, progress, assigned_agent_id, estimated_hours, labels, started_at, completed_at, updated_at FROM tasks WHERE id = ?`),
    dependsOn: p(`SELECT depends_on FROM task_dependencies WHERE task_id = ?`),
    putNode: p(`INSERT OR REPLACE INTO insight_graph_nodes (project_id, task_id, name, status, progress, estimated_hours, assigned_agent_id, updated_at, depends_on)
      VALUES (@projectId, @taskId, @name, @status, @progress, @estimatedHours, @assignedAgentId, @updatedAt, @dependsOn)`),
    history: p(`SELECT agent_id, action, ts FROM task_history WHERE task_id = ? ORDER BY ts, seq`),
    taskBlockers: p(`SELECT id FROM blockers WHERE task_id = ?`),
    blockerRows: p(`SELECT agent_id, reported_at FROM blockers WHERE task_id = ?`),
    runTasks: p(`SELECT id FROM tasks WHERE pipeline_run_id = ?`),
    agent: p(`SELECT kind, type FROM agents WHERE id = ?`),
    oldFact: p(`SELECT labels, contributions, project_id FROM insight_task_facts WHERE task_id = ?`),
    putFact: p(`INSERT OR REPLACE INTO insight_task_facts (task_id, project_id, agent_id, status, labels, contributions, started_at, completed_at, last_progress_at, estimated_hours, actual_hours, blockers)
      VALUES (@taskId, @projectId, @agentId, @status, @labels, @contributions, @startedAt, @completedAt, @lastProgressAt, @estimatedHours, @actualHours, @blockers)`),
    delLabels: p(`DELETE FROM insight_task_labels WHERE task_id = ?`),
    putLabel: p(`INSERT OR IGNORE INTO insight_task_labels (project_id, label, task_id) VALUES (?, ?, ?)`),
    agentLabel: p(`INSERT INTO insight_agent_labels (project_id, agent_id, label, ${counterCols.join(', ')})
      VALUES (@projectId, @agentId, @label, ${counterCols.map(c => `@${c}`).join(', ')})
      ON CONFLICT(project_id, agent_id, label) DO UPDATE SET ${counterCols.map(c => `${c} = ${c} + excluded.${c}`).join(', ')}`),
    agentTotal: p(`INSERT INTO insight_agent_label_totals (agent_id, label, ${counterCols.join(', ')})
      VALUES (@agentId, @label, ${counterCols.map(c => `@${c}`).join(', ')})
      ON CONFLICT(agent_id, label) DO UPDATE SET ${counterCols.map(c => `${c} = ${c} + excluded.${c}`).join(', ')}`),
    agentWeek: p(`INSERT INTO insight_agent_weeks (project_id, agent_id, week, ${weekCols.join(', ')})
      VALUES (@projectId, @agentId, @week, ${weekCols.map(c => `@${c}`).join(', ')})
      ON CONFLICT(project_id, agent_id, week) DO UPDATE SET ${weekCols.map(c => `${c} = ${c} + excluded.${c}`).join(', ')}`),
    projectHour: p(`INSERT INTO insight_project_hours (project_id, hour, completed, completed_estimate) VALUES (?, ?, ?, ?)
      ON CONFLICT(project_id, hour) DO UPDATE SET completed = completed + excluded.completed, completed_estimate = completed_estimate + excluded.completed_estimate`),
    hod: p(`INSERT INTO insight_hours_of_day (project_id, hod, completed, messages, blockers) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(project_id, hod) DO UPDATE SET completed = completed + excluded.completed, messages = messages + excluded.messages, blockers = blockers + excluded.blockers`),
    blocker: p(`SELECT id, project_id, task_id, agent_id, description, status, reported_at, resolved_at FROM blockers WHERE id = ?`),
    oldBlocker: p(`SELECT project_id, key, agent_id, status, reported_at, resolved_at FROM insight_blocker_facts WHERE blocker_id = ?`),
    putBlocker: p(`INSERT OR REPLACE INTO insight_blocker_facts (blocker_id, project_id, key, agent_id, task_id, status, reported_at, resolved_at)
      VALUES (@id, @projectId, @key, @agentId, @taskId, @status, @reportedAt, @resolvedAt)`),
    blockerGroup: p(`INSERT INTO insight_blocker_groups (project_id, key, occurrences, resolved, resolved_delay_ms, open_count, open_reported_sum, first_reported_at, last_reported_at, sample)
      VALUES (@projectId, @key, @occurrences, @resolved, @delay, @open, @openSum, @reportedAt, @reportedAt, @sample)
      ON CONFLICT(project_id, key) DO UPDATE SET occurrences = occurrences + excluded.occurrences, resolved = resolved + excluded.resolved,
        resolved_delay_ms = resolved_delay_ms + excluded.resolved_delay_ms, open_count = open_count + excluded.open_count,
        open_reported_sum = open_reported_sum + excluded.open_reported_sum,
        first_reported_at = min(coalesce(first_reported_at, excluded.first_reported_at), excluded.first_reported_at),
        last_reported_at = max(coalesce(last_reported_at, excluded.last_reported_at), excluded.last_reported_at)`),
    blockerAgent: p(`INSERT INTO insight_blocker_agents (project_id, key, agent_id, occurrences) VALUES (?, ?, ?, ?)
      ON CONFLICT(project_id, key, agent_id) DO UPDATE SET occurrences = occurrences + excluded.occurrences`),
    streak: p(`SELECT last_text, streak, started_at, last_ts, message_ids FROM insight_message_streaks WHERE project_id = ? AND conversation_id = ? AND sender = ?`),
    putStreak: p(`INSERT OR REPLACE INTO insight_message_streaks (project_id, conversation_id, sender, last_text, streak, started_at, last_ts, message_ids)
      VALUES (@projectId, @conversationId, @sender, @lastText, @streak, @startedAt, @lastTs, @messageIds)`),
    putLoop: p(`INSERT INTO insight_loops (id, project_id, agent_id, conversation_id, started_at, last_ts, repeats, sample, message_ids)
      VALUES (@id, @projectId, @agentId, @conversationId, @startedAt, @lastTs, @repeats, @sample, @messageIds)
      ON CONFLICT(id) DO UPDATE SET last_ts = excluded.last_ts, repeats = excluded.repeats, message_ids = excluded.message_ids`),
  }
  st.initWatermark!.run()
  const agentKinds = new Map<string, { kind: string, type: string | null } | null>()
  const f: Follower = { sqlite, st, agentKinds, run: () => ({ applied: 0, behind: 0 }) }
  const apply = sqlite.transaction((limit: number) => applyChunk(f, limit))
  f.run = (limit: number) => {
    // Nothing new (the common case on a read): no transaction, no lock.
    const from = (st.watermark!.get() as { value: number }).value
    if (from >= (st.latest!.get() as { n: number }).n) return { applied: 0, behind: 0 }
    // IMMEDIATE: take the write lock before reading the watermark, so another process
    // applying the same events makes this one wait and then see its new watermark.
    return apply.immediate(limit)
  }
  follower = f
  return f
}

type EventRow = { seq: number, id: string, kind: string, project_id: string, ts: number, payload: string }

function applyChunk(f: Follower, limit: number): { applied: number, behind: number } {
  const { st } = f
  const from = (st.watermark!.get() as { value: number }).value
  const latest = (st.latest!.get() as { n: number }).n
  if (from >= latest) return { applied: 0, behind: 0 }
  const rows = st.events!.all(from, latest, limit) as EventRow[]
  const to = rows.length < limit ? latest : rows[rows.length - 1]!.seq
  // Another process moved the watermark first: it applied these events.
  if (st.advance!.run(to, from).changes !== 1) return { applied: 0, behind: 0 }
  f.agentKinds.clear()
  const tasks = new Set<string>()
  const blockerIds = new Set<string>()
  const activity = new Map<string, number>()
  const graphs = new Set<string>()
  for (const row of rows) {
    if (row.ts > (activity.get(row.project_id) ?? 0)) activity.set(row.project_id, row.ts)
    if (row.kind !== 'message') graphs.add(row.project_id)
    const e = parseJson<Record<string, unknown>>(row.payload, {})
    const taskId = typeof e.task_id === 'string' ? e.task_id : undefined
    switch (row.kind) {
      case 'message':
        applyMessage(f, row, e)
        break
      case 'blocker.reported':
        blockerIds.add(typeof e.blocker_id === 'string' ? e.blocker_id : row.id)
        if (taskId) tasks.add(taskId)
        break
      case 'blocker.resolved':
        if (typeof e.blocker_id === 'string') blockerIds.add(e.blocker_id)
        if (taskId) tasks.add(taskId)
        break
      case 'pipeline.run.finished':
        if (typeof e.run_id === 'string') for (const t of st.runTasks!.all(e.run_id) as { id: string }[]) tasks.add(t.id)
        break
      default:
        if (taskId) tasks.add(taskId)
    }
  }
  for (const id of tasks) {
    applyTask(f, id)
    for (const b of st.taskBlockers!.all(id) as { id: string }[]) blockerIds.add(b.id)
  }
  for (const id of blockerIds) applyBlocker(f, id)
  for (const [projectId, ts] of activity) st.activity!.run(`${ACTIVITY}${projectId}`, ts)
  for (const projectId of graphs) st.bumpGraph!.run(`${GRAPH}${projectId}`)
  return { applied: rows.length, behind: Math.max(0, latest - to) }
}

function agentInfo(f: Follower, id: string) {
  if (!f.agentKinds.has(id)) f.agentKinds.set(id, (f.st.agent!.get(id) as { kind: string, type: string | null } | undefined) ?? null)
  return f.agentKinds.get(id)!
}

type TaskDbRow = { id: string, project_id: string, name: string, progress: number, status: string, assigned_agent_id: string | null, estimated_hours: number | null, labels: string, started_at: number | null, completed_at: number | null, updated_at: number }

function applyTask(f: Follower, id: string) {
  const { st } = f
  const row = st.task!.get(id) as TaskDbRow | undefined
  const old = st.oldFact!.get(id) as { labels: string, contributions: string, project_id: string } | undefined
  if (old) addContribution(f, old.project_id, JSON.parse(old.contributions) as TaskContribution, -1)
  if (!row) return
  const history = st.history!.all(id) as HistoryInput[]
  const blockers = st.blockerRows!.all(id) as BlockerInput[]
  const owner = row.assigned_agent_id ?? [...history].reverse().find(h => h.agent_id)?.agent_id ?? null
  const type = owner ? agentInfo(f, owner)?.type : null
  const contribution = taskContribution({ ...row, labels: parseJson<string[]>(row.labels, []) }, history, blockers, type ? `role:${type}` : null)
  addContribution(f, row.project_id, contribution, 1)
  const reports = history.filter(h => h.action === 'assigned' || h.action === 'requeued' || h.action === 'progress')
  const done = row.status === 'done' && row.started_at !== null && row.completed_at !== null
  st.putFact!.run({
    taskId: id, projectId: row.project_id, agentId: owner, status: row.status, labels: JSON.stringify(contribution.labels),
    contributions: JSON.stringify(contribution), startedAt: row.started_at, completedAt: row.status === 'done' || row.status === 'failed' ? row.completed_at ?? row.updated_at : null,
    lastProgressAt: reports.length ? reports[reports.length - 1]!.ts : null, estimatedHours: row.estimated_hours,
    actualHours: done ? (row.completed_at! - row.started_at!) / HOUR : null, blockers: blockers.length,
  })
  st.delLabels!.run(id)
  for (const label of contribution.labels) st.putLabel!.run(row.project_id, label, id)
  st.putNode!.run({
    projectId: row.project_id, taskId: id, name: row.name, status: row.status, progress: row.progress, estimatedHours: row.estimated_hours,
    assignedAgentId: row.assigned_agent_id, updatedAt: row.updated_at,
    dependsOn: JSON.stringify((st.dependsOn!.all(id) as { depends_on: string }[]).map(d => d.depends_on)),
  })
}

function addContribution(f: Follower, projectId: string, c: TaskContribution, sign: 1 | -1) {
  const { st } = f
  for (const { agent, c: counters } of c.agents) {
    const values = Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, v * sign]))
    for (const label of ['', ...c.labels]) {
      st.agentLabel!.run({ projectId, agentId: agent, label, ...values })
      st.agentTotal!.run({ agentId: agent, label, ...values })
    }
  }
  for (const w of c.weeks) {
    const values = Object.fromEntries(Object.entries(w.c).map(([k, v]) => [k, v * sign]))
    st.agentWeek!.run({ projectId, agentId: w.agent, week: w.week, ...values })
  }
  if (c.completion) {
    st.projectHour!.run(projectId, c.completion.hour, sign, c.completion.estimate * sign)
    st.hod!.run(projectId, new Date(c.completion.hour).getUTCHours(), sign, 0, 0)
  }
}

type BlockerDbRow = { id: string, project_id: string, task_id: string | null, agent_id: string | null, description: string, status: string, reported_at: number, resolved_at: number | null }
type BlockerFact = { project_id: string, key: string, agent_id: string | null, status: string, reported_at: number, resolved_at: number | null }

function blockerDelta(f: Follower, b: BlockerFact, sample: string, sign: 1 | -1) {
  const resolved = b.status === 'resolved' && b.resolved_at !== null
  f.st.blockerGroup!.run({
    projectId: b.project_id, key: b.key, occurrences: sign, resolved: resolved ? sign : 0,
    delay: resolved ? Math.max(0, b.resolved_at! - b.reported_at) * sign : 0,
    open: resolved ? 0 : sign, openSum: resolved ? 0 : b.reported_at * sign, reportedAt: b.reported_at, sample,
  })
  if (b.agent_id) f.st.blockerAgent!.run(b.project_id, b.key, b.agent_id, sign)
  f.st.hod!.run(b.project_id, new Date(b.reported_at).getUTCHours(), 0, 0, sign)
}

function applyBlocker(f: Follower, id: string) {
  const { st } = f
  const old = st.oldBlocker!.get(id) as BlockerFact | undefined
  const row = st.blocker!.get(id) as BlockerDbRow | undefined
  if (old) blockerDelta(f, old, '', -1)
  if (!row) return
  const fact: BlockerFact = { project_id: row.project_id, key: blockerKey(row.description), agent_id: row.agent_id, status: row.status, reported_at: row.reported_at, resolved_at: row.resolved_at }
  blockerDelta(f, fact, row.description.slice(0, 500), 1)
  st.putBlocker!.run({ id, projectId: row.project_id, key: fact.key, agentId: row.agent_id, taskId: row.task_id, status: row.status, reportedAt: row.reported_at, resolvedAt: row.resolved_at })
}

function applyMessage(f: Follower, row: EventRow, e: Record<string, unknown>) {
  const { st } = f
  f.st.hod!.run(row.project_id, new Date(row.ts).getUTCHours(), 0, 1, 0)
  const sender = typeof e.sender === 'string' ? e.sender : undefined
  const content = typeof e.content === 'string' ? e.content : undefined
  if (!sender || content === undefined || NOT_SPOKEN.has(String(e.message_type))) return
  if (sender === COORDINATOR || sender === BOARD) return
  const info = agentInfo(f, sender)
  if (info && info.kind !== 'agent') return
  const conversationId = typeof e.conversation_id === 'string' ? e.conversation_id : directConversationId(row.project_id, sender, typeof e.recipient === 'string' ? e.recipient : undefined)
  const messageId = typeof e.message_id === 'string' ? e.message_id : row.id
  const text = normaliseText(content)
  const prev = st.streak!.get(row.project_id, conversationId, sender) as { last_text: string, streak: number, started_at: number, last_ts: number, message_ids: string } | undefined
  const same = prev !== undefined && jaccard(shingles(prev.last_text), shingles(text)) >= LOOP_SIMILARITY
  const ids = same ? parseJson<string[]>(prev.message_ids, []) : []
  if (ids.length < STREAK_IDS) ids.push(messageId)
  const streak = same ? prev.streak + 1 : 1
  const startedAt = same ? prev.started_at : row.ts
  st.putStreak!.run({ projectId: row.project_id, conversationId, sender, lastText: text, streak, startedAt, lastTs: row.ts, messageIds: JSON.stringify(ids) })
  if (streak >= LOOP_MIN_REPEATS) {
    st.putLoop!.run({
      id: `${row.project_id}\u0000${conversationId}\u0000${sender}\u0000${startedAt}`, projectId: row.project_id, agentId: sender, conversationId,
      startedAt, lastTs: row.ts, repeats: streak, sample: content.slice(0, 300), messageIds: JSON.stringify(ids),
    })
  }
}

/**
 * Applies pending events, at most `maxEvents` of the kinds that matter; returns how far the
 * rollups are behind the log afterwards (0: current).
 */
export function catchUpInsights(maxEvents = 20_000): { events_behind: number } {
  const f = useFollower()
  let budget = maxEvents
  for (;;) {
    const { applied, behind } = f.run(Math.min(CHUNK, Math.max(1, budget)))
    budget -= applied
    if (behind === 0 || budget <= 0) return { events_behind: behind }
  }
}

let timer: NodeJS.Timeout | undefined
/** Set by stopInsights: a catch-up deferred until the end of a bulk import is not started then. */
let stopped = false

/** Catches up soon, a chunk at a time, without holding the event loop. */
export function scheduleInsights(delayMs = 100) {
  stopped = false
  if (timer) return
  // A backfill under way: one catch-up after it rather than one between each of its batches.
  if (deferDuringBulkImport(resumeInsights)) return
  timer = setTimeout(function step() {
    timer = undefined
    if (deferDuringBulkImport(resumeInsights)) return
    try {
      const f = useFollower()
      if (f.run(CHUNK).behind > 0) timer = setTimeout(step, 0)
    }
    catch (error) {
      console.error('[seneca] insights rollup failed', error)
    }
  }, delayMs)
  timer.unref?.()
}

const resumeInsights = () => {
  if (!stopped) scheduleInsights(0)
}

export function stopInsights() {
  stopped = true
  if (timer) clearTimeout(timer)
  timer = undefined
}

/** Which event kinds move the rollups (the plugin schedules a catch-up after those). */
export const INSIGHT_EVENT_KINDS = new Set(TASK_KINDS)
