/**
 * Pattern learning: patterns detected in stored work, each with its evidence and method
 * (recurring blockers, durations by label, best agents per label, peak hours, stalls, loops),
 * predictions with their inputs and intervals (project completion, task outcome and blockage,
 * cascade effects of a delay) and recommendations derived from the patterns. Figures come
 * from the insight rollups (server/insights/rollups.ts), so a request reads rollup rows, not
 * every task.
 */
import { patternTypes } from '../../shared/insights'
import { type Scope, inScope } from './access'
import { taskImpact } from './context'
import { apiError } from './errors'
import { iso } from './ids'
import { parseJson, round } from './values'
import {
  freshness, hours, labelTable, projectFilter, rate, referenceTime, sampleConfidence, smoothed, stmt, wilson, Z80,
} from '../insights/common'
import { HOUR, LOOP_MIN_REPEATS, LOOP_SIMILARITY } from '../insights/rollups'

export type PatternType = (typeof patternTypes)[number]

export type Pattern = {
  id: string
  type: PatternType
  project_id: string | null
  title: string
  description: string
  confidence: number
  evidence: Record<string, unknown>
  method: string
}

export type PatternQuery = {
  project_id?: string
  type?: PatternType
  /** A task is stalled after this many times its agent's usual interval without a report. */
  stall_factor: number
  min_occurrences: number
  as_of?: number
  limit: number
}

/** Agents listed in a best-agent pattern's ranking. */
const BEST_AGENTS_SHOWN = 5

/** Recurring blockers: groups with at least `min` occurrences. */
function recurringBlockers(filter: string, params: Record<string, unknown>, min: number, asOf: number, limit: number): Pattern[] {
  const rows = stmt(`SELECT project_id, key, occurrences, resolved, open_count, resolved_delay_ms, open_count * @asOf - open_reported_sum AS open_delay, sample, last_reported_at
    FROM insight_blocker_groups WHERE ${filter} AND occurrences >= @min ORDER BY occurrences DESC, last_reported_at DESC LIMIT @limit`)
    .all({ ...params, asOf, min, limit }) as { project_id: string, key: string, occurrences: number, resolved: number, open_count: number, resolved_delay_ms: number, open_delay: number, sample: string, last_reported_at: number }[]
  const ids = stmt(`SELECT blocker_id, task_id, agent_id FROM insight_blocker_facts WHERE project_id = ? AND key = ? ORDER BY reported_at DESC LIMIT 10`)
  return rows.map((r) => {
    const facts = ids.all(r.project_id, r.key) as { blocker_id: string, task_id: string | null, agent_id: string | null }[]
    return {
      id: `recurring_blocker:${r.project_id}:${r.key}`,
      type: 'recurring_blocker',
      project_id: r.project_id,
      title: `Blocker recurs ${r.occurrences}×: ${r.sample.slice(0, 80)}`,
      description: `${r.occurrences} blockers share this description (${r.resolved} resolved, ${r.open_count} open), holding work up ${hours(r.resolved_delay_ms + Math.max(0, r.open_delay))} h in all.`,
      confidence: round(1 - 1 / r.occurrences, 4),
      evidence: {
        key: r.key, occurrences: r.occurrences, resolved: r.resolved, open: r.open_count,
        delay_hours: hours(r.resolved_delay_ms + Math.max(0, r.open_delay)), last_reported_at: iso(r.last_reported_at),
        blocker_ids: facts.map(f => f.blocker_id), task_ids: [...new Set(facts.map(f => f.task_id).filter(Boolean))], agent_ids: [...new Set(facts.map(f => f.agent_id).filter(Boolean))],
      },
      method: `Blockers grouped by normalised description (first 12 words, numbers and ids as #); a group recurs with at least ${min} occurrences. Confidence 1 − 1/occurrences.`,
    }
  })
}

type LabelTotals = { label: string, tasks: number, est_n: number, est_sum: number, act_sum: number, agents: number }
type AgentRow = { label: string, agent_id: string, succeeded: number, failed: number, blocked: number, est_sum: number, act_sum: number, agents: number }

/**
 * The per-agent, per-label counters the filter selects, one row per (label, agent): as stored
 * when the filter reads one row per pair (all projects' totals, or one project), else summed
 * over the projects.
 */
function agentLabelRows(filter: string, params: Record<string, unknown>, columns: string[]): string {
  const onePerPair = filter === '1' || params.project !== undefined
  return onePerPair
    ? `SELECT label, agent_id, ${columns.join(', ')} FROM ${labelTable(filter)} WHERE label <> '' AND ${filter}`
    : `SELECT label, agent_id, ${columns.map(c => `sum(${c}) AS ${c}`).join(', ')} FROM ${labelTable(filter)} WHERE label <> '' AND ${filter} GROUP BY label, agent_id`
}

/** Per label key over the agents (summed in SQL: one row per label instead of one per agent and label). */
function labelTotals(filter: string, params: Record<string, unknown>): LabelTotals[] {
  return stmt(`SELECT label, sum(tasks) AS tasks, sum(est_n) AS est_n, sum(est_sum) AS est_sum, sum(act_sum) AS act_sum, count(*) AS agents
    FROM (${agentLabelRows(filter, params, ['tasks', 'est_n', 'est_sum', 'act_sum'])}) WHERE tasks > 0 GROUP BY label`).all(params) as LabelTotals[]
}

/** Per label key: how long its tasks take against their estimates. */
function labelDurations(rows: LabelTotals[], projectId: string | null): Pattern[] {
  return rows.filter(l => l.est_n > 0).sort((a, b) => b.est_n - a.est_n || a.label.localeCompare(b.label)).map((l) => {
    const label = l.label
    const ratio = round(l.act_sum / l.est_sum, 4)
    return {
      id: `label_duration:${projectId ?? '*'}:${label}`,
      type: 'label_duration' as const,
      project_id: projectId,
      title: `${label}: ${round(l.act_sum / l.est_n, 2)} h per task, ${ratio}× the estimate`,
      description: `${l.est_n} finished ${label} tasks took ${round(l.act_sum, 2)} h against ${round(l.est_sum, 2)} estimated hours.`,
      confidence: sampleConfidence(l.est_n),
      evidence: { label, tasks_measured: l.est_n, tasks: l.tasks, agents: l.agents, mean_actual_hours: round(l.act_sum / l.est_n, 3), mean_estimated_hours: round(l.est_sum / l.est_n, 3), estimate_ratio: ratio },
      method: 'Finished tasks with an estimate and the label key (its labels, or role:<agent type> when unlabeled): mean actual hours (completed − started) and Σactual ÷ Σestimate. Confidence n ÷ (n + 4).',
    }
  })
}

/**
 * Per label key, the agents that can be among the first shown: those whose smoothed success
 * (s + 1) ÷ (f + 2), before rounding, is within 0.0001 of the BEST_AGENTS_SHOWN-th best (an
 * agent further below cannot rank above them once rounded to 4 digits); `agents` counts every
 * agent compared. Ranked in SQL so that only those rows are read.
 */
function agentCandidates(filter: string, params: Record<string, unknown>): AgentRow[] {
  return stmt(`WITH a AS (SELECT * FROM (${agentLabelRows(filter, params, ['tasks', 'succeeded', 'failed', 'blocked', 'est_sum', 'act_sum'])})
      WHERE tasks > 0 AND succeeded + failed > 0),
    r AS (SELECT *, (succeeded + 1.0) / (succeeded + failed + 2) AS sm, row_number() OVER (PARTITION BY label ORDER BY (succeeded + 1.0) / (succeeded + failed + 2) DESC) AS rn FROM a),
    cut AS (SELECT label, min(sm) FILTER (WHERE rn <= ${BEST_AGENTS_SHOWN}) AS c, count(*) AS agents FROM r GROUP BY label)
    SELECT r.label, r.agent_id, r.succeeded, r.failed, r.blocked, r.est_sum, r.act_sum, cut.agents FROM r JOIN cut ON cut.label = r.label WHERE r.sm >= cut.c - 0.0001`)
    .all(params) as AgentRow[]
}

/** Per label key: agents ranked by smoothed success rate, then by speed against estimates. */
function bestAgents(rows: AgentRow[], projectId: string | null): Pattern[] {
  const byLabel = new Map<string, AgentRow[]>()
  for (const r of rows) {
    const list = byLabel.get(r.label)
    if (list) list.push(r)
    else byLabel.set(r.label, [r])
  }
  const out: Pattern[] = []
  for (const [label, agents] of [...byLabel].sort((a, b) => a[0].localeCompare(b[0]))) {
    const compared = agents[0]!.agents
    const ranked = agents.map(a => ({
      agent_id: a.agent_id, finished: a.succeeded + a.failed, succeeded: a.succeeded, blocked: a.blocked,
      success_rate: rate(a.succeeded, a.succeeded + a.failed)!, smoothed_success: smoothed(a.succeeded, a.succeeded + a.failed),
      estimate_ratio: a.est_sum > 0 ? round(a.act_sum / a.est_sum, 4) : null,
    })).sort((a, b) => b.smoothed_success - a.smoothed_success || (a.estimate_ratio ?? 1e9) - (b.estimate_ratio ?? 1e9) || a.agent_id.localeCompare(b.agent_id))
    if (!ranked.length) continue
    const best = ranked[0]!
    out.push({
      id: `best_agent:${projectId ?? '*'}:${label}`,
      type: 'best_agent',
      project_id: projectId,
      title: `${best.agent_id} is the best fit for ${label}`,
      description: `${best.agent_id} finished ${best.finished} ${label} task${best.finished === 1 ? '' : 's'}, ${Math.round(best.success_rate * 100)}% successfully`
        + (best.estimate_ratio !== null ? `, at ${best.estimate_ratio}× the estimate` : '') + `; ${compared} agent${compared === 1 ? '' : 's'} compared.`,
      confidence: sampleConfidence(best.finished),
      evidence: { label, agents_compared: compared, ranking: ranked.slice(0, BEST_AGENTS_SHOWN) },
      method: `Agents that finished tasks with the label key, ranked by (succeeded + 1) ÷ (finished + 2), then by Σactual ÷ Σestimate (faster first); the first ${BEST_AGENTS_SHOWN} shown. `
        + 'Confidence n ÷ (n + 4) of the best agent\'s finished tasks.',
    })
  }
  return out
}

function peakHours(filter: string, params: Record<string, unknown>, projectId: string | null): Pattern[] {
  const rows = stmt(`SELECT hod, sum(completed) AS completed, sum(messages) AS messages, sum(blockers) AS blockers
    FROM insight_hours_of_day WHERE ${filter} GROUP BY hod ORDER BY hod`).all(params) as { hod: number, completed: number, messages: number, blockers: number }[]
  const total = rows.reduce((s, r) => s + r.completed + r.messages, 0)
  if (!total) return []
  const top = (field: 'completed' | 'messages') => [...rows].filter(r => r[field] > 0).sort((a, b) => b[field] - a[field] || a.hod - b.hod).slice(0, 3)
  const topCompleted = top('completed')
  const topMessages = top('messages')
  const sumOf = (field: 'completed' | 'messages') => rows.reduce((s, r) => s + r[field], 0)
  const hh = (h: number) => `${String(h).padStart(2, '0')}:00`
  const share = topCompleted.length ? round(topCompleted.reduce((s, r) => s + r.completed, 0) / sumOf('completed'), 4) : null
  return [{
    id: `peak_hours:${projectId ?? '*'}`,
    type: 'peak_hours',
    project_id: projectId,
    title: topCompleted.length ? `Most work finishes at ${topCompleted.map(r => hh(r.hod)).join(', ')} UTC` : `Most messages at ${topMessages.map(r => hh(r.hod)).join(', ')} UTC`,
    description: `Top hours of the day (UTC) by tasks completed: ${topCompleted.map(r => `${hh(r.hod)} (${r.completed})`).join(', ') || 'none'}; by messages: ${topMessages.map(r => `${hh(r.hod)} (${r.messages})`).join(', ')}.`,
    confidence: sampleConfidence(sumOf('completed')),
    evidence: {
      by_hour: rows.map(r => ({ hour: r.hod, completed: r.completed, messages: r.messages, blockers: r.blockers })),
      top_completion_hours: topCompleted.map(r => r.hod), top_message_hours: topMessages.map(r => r.hod), top_completion_share: share,
    },
    method: 'Tasks completed, messages and blockers counted per hour of the day (UTC); the three busiest hours of each. Confidence n ÷ (n + 4) of completed tasks.',
  }]
}

/** The last count of stalled tasks, with the rollup watermark and question it answered. */
let stalledMemo: { key: string, n: number } | null = null

/** How many in-progress tasks are stalled (see stalls), remembered until the rollups or the question change. */
function stalledCount(filter: string, open: string, args: Record<string, unknown>): number {
  const events = (stmt(`SELECT value FROM insight_state WHERE name = 'events'`).get() as { value: number } | undefined)?.value ?? 0
  const key = JSON.stringify([events, filter, args])
  if (stalledMemo?.key === key) return stalledMemo.n
  const n = (stmt(`WITH pg AS (SELECT project_id, sum(gap_sum) AS s, sum(gap_n) AS n FROM insight_agent_labels WHERE label = '' AND gap_n > 0 AND ${filter} GROUP BY project_id),
    holders AS (SELECT DISTINCT project_id, agent_id FROM insight_task_facts WHERE status = 'in_progress' AND ${open}),
    u AS (SELECT h.project_id, h.agent_id, coalesce(a.gap_sum / a.gap_n, pg.s / pg.n) AS usual FROM holders h
      LEFT JOIN insight_agent_labels a ON a.project_id = h.project_id AND a.agent_id = h.agent_id AND a.label = '' AND a.gap_n > 0
      LEFT JOIN pg ON pg.project_id = h.project_id)
    SELECT count(*) AS n FROM u JOIN insight_task_facts f
      ON f.status = 'in_progress' AND f.project_id = u.project_id AND f.agent_id IS u.agent_id AND f.last_progress_at IS NOT NULL AND f.last_progress_at < @asOf
      WHERE u.usual > 0 AND @asOf - f.last_progress_at > @factor * u.usual`).get(args) as { n: number }).n
  stalledMemo = { key, n }
  return n
}

/**
 * Stalls: in-progress tasks whose last assignment or progress report is older than
 * `factor` × the usual interval between reports of the agent holding them (its mean over all
 * its tasks in the project; the project's mean across agents when it has none).
 */
function stalls(filter: string, params: Record<string, unknown>, factor: number, asOf: number, limit: number, stallFilter: string): Pattern[] {
  // In SQL, so that only the stalled tasks reach JavaScript. The tasks shown are read in order of
  // their last report from the (status, last report, task) index, each compared with its holder's
  // usual interval as it is read, so the scan stops at the `limit`-th stalled task. The count of all
  // stalled tasks (needed only when there are more than are shown) looks the usual interval up once
  // per (project, agent) holding in-progress tasks (their distinct pairs read from the covering
  // (status, project, agent, last report, task) index), then each pair's tasks are one range of that
  // index; it only changes when the rollups move or the question does, so it is remembered until then.
  const open = filter === '1' ? 'project_id IN (SELECT id FROM projects)' : filter
  const args = { ...params, asOf, factor }
  const rows = stmt(`SELECT f.task_id, f.project_id, f.agent_id, f.last_progress_at,
      coalesce(a.gap_sum / a.gap_n, (SELECT sum(p.gap_sum) / sum(p.gap_n) FROM insight_agent_labels p WHERE p.project_id = f.project_id AND p.label = '' AND p.gap_n > 0)) AS usual,
      a.gap_sum / a.gap_n IS NOT NULL AS is_own
    FROM insight_task_facts f INDEXED BY insight_task_facts_stall_idx
    LEFT JOIN insight_agent_labels a ON a.project_id = f.project_id AND a.agent_id = f.agent_id AND a.label = '' AND a.gap_n > 0
    WHERE f.status = 'in_progress' AND f.last_progress_at IS NOT NULL AND f.last_progress_at < @asOf AND ${stallFilter}
      AND usual > 0 AND @asOf - f.last_progress_at > @factor * usual
    ORDER BY f.last_progress_at, f.task_id LIMIT @limit`)
    .all({ ...args, limit }) as { task_id: string, project_id: string, agent_id: string | null, last_progress_at: number, usual: number, is_own: number }[]
  const stalledTasks = rows.length < limit ? rows.length : stalledCount(filter, open, args)
  const stalled = rows.map(r => ({ t: r, idle: asOf - r.last_progress_at, usual: r.usual, own: r.is_own === 1 }))
  // Only the longest-stalled tasks are described (and their rows read).
  const task = stmt(`SELECT name, progress FROM tasks WHERE id = ?`)
  return stalled.map(({ t, idle, usual, own }) => {
    const row = task.get(t.task_id) as { name: string, progress: number } | undefined
    const times = round(idle / usual, 2)
    return {
      id: `stall:${t.task_id}`,
      type: 'stall' as const,
      project_id: t.project_id,
      title: `No progress on "${row?.name ?? t.task_id}" for ${hours(idle)} h`,
      description: `${t.agent_id ?? 'Nobody'} last reported on it ${hours(idle)} h before ${iso(asOf)}, ${times}× the usual ${hours(usual)} h between reports.`,
      confidence: round(Math.min(1, 1 - factor / times + 0.5), 4),
      evidence: {
        task_id: t.task_id, agent_id: t.agent_id, progress: row?.progress ?? null, last_progress_at: iso(t.last_progress_at), idle_hours: hours(idle),
        usual_interval_hours: hours(usual), usual_from: own ? 'agent' : 'project', times_usual: times, factor, stalled_tasks: stalledTasks,
      },
      method: `In-progress tasks whose last assignment or progress report is older than ${factor}× the usual interval between reports (the holding agent's mean, else the project's). Confidence min(1, 1.5 − factor ÷ times_usual).`,
    }
  })
}

function loops(filter: string, params: Record<string, unknown>, limit: number): Pattern[] {
  const rows = stmt(`SELECT id, project_id, agent_id, conversation_id, started_at, last_ts, repeats, sample, message_ids FROM insight_loops
    WHERE ${filter} ORDER BY last_ts DESC LIMIT @limit`).all({ ...params, limit }) as
    { id: string, project_id: string, agent_id: string, conversation_id: string, started_at: number, last_ts: number, repeats: number, sample: string, message_ids: string }[]
  return rows.map(r => ({
    id: `loop:${r.project_id}:${r.conversation_id}:${r.agent_id}:${r.started_at}`,
    type: 'loop' as const,
    project_id: r.project_id,
    title: `${r.agent_id} repeated itself ${r.repeats}×`,
    description: `${r.repeats} consecutive near-identical messages from ${r.agent_id} in ${r.conversation_id} between ${iso(r.started_at)} and ${iso(r.last_ts)}: "${r.sample.slice(0, 120)}"`,
    confidence: round(1 - 1 / r.repeats, 4),
    evidence: { agent_id: r.agent_id, conversation_id: r.conversation_id, repeats: r.repeats, started_at: iso(r.started_at), last_at: iso(r.last_ts), sample: r.sample, message_ids: parseJson<string[]>(r.message_ids, []) },
    method: `Consecutive messages of one sender in one conversation whose normalised texts (lower case, numbers and ids as #) have a Jaccard similarity of word 3-shingles ≥ ${LOOP_SIMILARITY}; `
      + `${LOOP_MIN_REPEATS} or more in a row make a loop. Confidence 1 − 1/repeats.`,
  }))
}

/** The stall filter on `f.project_id` (every existing project when unrestricted). */
function stallScope(projectId: string | undefined, scope: Scope, params: Record<string, unknown>): string {
  const f = projectFilter('f.project_id', projectId, scope, params)
  return f === '1' ? 'f.project_id IN (SELECT id FROM projects)' : f
}

/** GET /api/patterns: every detected pattern (or one type) with its evidence. */
export function listPatterns(q: PatternQuery, scope: Scope) {
  const fresh = freshness()
  const params: Record<string, unknown> = {}
  const filter = projectFilter('project_id', q.project_id, scope, params)
  const asOf = referenceTime(q.as_of, q.project_id, scope)
  const want = (t: PatternType) => q.type === undefined || q.type === t
  const projectId = q.project_id ?? null
  const patterns: Pattern[] = [
    ...(want('recurring_blocker') ? recurringBlockers(filter, params, q.min_occurrences, asOf, q.limit) : []),
    ...(want('label_duration') ? labelDurations(labelTotals(filter, params), projectId).slice(0, q.limit) : []),
    ...(want('best_agent') ? bestAgents(agentCandidates(filter, params), projectId).slice(0, q.limit) : []),
    ...(want('peak_hours') ? peakHours(filter, params, projectId) : []),
    ...(want('stall') ? stalls(filter, params, q.stall_factor, asOf, q.limit, stallScope(q.project_id, scope, params)) : []),
    ...(want('loop') ? loops(filter, params, q.limit) : []),
  ]
  return {
    as_of: iso(asOf)!,
    patterns,
    counts: Object.fromEntries(patternTypes.map(t => [t, patterns.filter(p => p.type === t).length])) as Record<PatternType, number>,
    parameters: { stall_factor: q.stall_factor, min_occurrences: q.min_occurrences, loop_min_repeats: LOOP_MIN_REPEATS, loop_similarity: LOOP_SIMILARITY },
    freshness: fresh,
  }
}

// ---------------------------------------------------------------------------------------
// Predictions

/** Velocity is measured over completions in this window before the latest one. */
const WINDOW_HOURS = 14 * 24

/**
 * Completion forecast from velocity. rate = tasks completed in the window ÷ the clock hours
 * from the first to the last completion hour in it (inclusive); remaining = open tasks;
 * expected hours = remaining ÷ rate. Completions are treated as a Poisson count, so the rate
 * is known to ±z/√n relative: the 80% interval of the hours is remaining ÷ (rate × (1 ± z/√n))
 * (no upper bound when the lower rate reaches 0). Pure (unit-tested).
 */
export function forecastCompletion(input: { completed: number, span_hours: number, remaining_tasks: number, completed_estimate: number, remaining_estimate: number }) {
  const { completed: n, span_hours: span, remaining_tasks: remaining } = input
  if (remaining === 0) return { rate_per_hour: null, expected_hours: 0, interval_hours: { low: 0, high: 0 }, work_based_hours: 0, relative_error: 0 }
  if (n === 0 || span <= 0) return { rate_per_hour: null, expected_hours: null, interval_hours: null, work_based_hours: null, relative_error: null }
  const r = n / span
  const rel = Z80 / Math.sqrt(n)
  const fast = r * (1 + rel)
  const slow = r * (1 - rel)
  const workRate = input.completed_estimate / span
  return {
    rate_per_hour: round(r, 4),
    expected_hours: round(remaining / r, 3),
    interval_hours: { low: round(remaining / fast, 3), high: slow > 0 ? round(remaining / slow, 3) : null },
    work_based_hours: workRate > 0 ? round(input.remaining_estimate / workRate, 3) : null,
    relative_error: round(rel, 4),
  }
}

export function predictCompletion(projectId: string, q: { as_of?: number }, scope: Scope) {
  const fresh = freshness()
  const project = stmt(`SELECT id, name FROM projects WHERE id = ?`).get(projectId) as { id: string, name: string } | undefined
  if (!project || !inScope(scope, projectId)) throw apiError('PROJECT_NOT_FOUND', `Project with ID '${projectId}' does not exist`, { project_id: projectId })
  const statuses = Object.fromEntries((stmt(`SELECT status, count(*) AS n FROM tasks WHERE project_id = ? GROUP BY status`).all(projectId) as { status: string, n: number }[]).map(r => [r.status, r.n]))
  const open = (statuses.todo ?? 0) + (statuses.in_progress ?? 0) + (statuses.blocked ?? 0)
  const remainingEstimate = stmt(`SELECT coalesce(sum(coalesce(estimated_hours, 0) * (1 - progress)), 0) AS h, count(estimated_hours) AS n FROM tasks
    WHERE project_id = ? AND status IN ('todo', 'in_progress', 'blocked')`).get(projectId) as { h: number, n: number }
  const latest = (stmt(`SELECT max(hour) AS h FROM insight_project_hours WHERE project_id = ? AND completed > 0`).get(projectId) as { h: number | null }).h
  const window = latest === null
    ? { completed: 0, estimate: 0, first: null as number | null }
    : stmt(`SELECT coalesce(sum(completed), 0) AS completed, coalesce(sum(completed_estimate), 0) AS estimate, min(hour) AS first FROM insight_project_hours
      WHERE project_id = ? AND hour > ? AND hour <= ? AND completed > 0`).get(projectId, latest - WINDOW_HOURS * HOUR, latest) as { completed: number, estimate: number, first: number | null }
  const span = latest !== null && window.first !== null ? (latest + HOUR - window.first) / HOUR : 0
  const asOf = referenceTime(q.as_of, projectId, scope)
  const f = forecastCompletion({ completed: window.completed, span_hours: span, remaining_tasks: open, completed_estimate: window.estimate, remaining_estimate: remainingEstimate.h })
  const at = (h: number | null | undefined) => (h === null || h === undefined ? null : iso(asOf + h * HOUR))
  return {
    project_id: projectId,
    as_of: iso(asOf)!,
    prediction: {
      expected_completion: open === 0 ? iso(latest !== null ? latest + HOUR : asOf) : at(f.expected_hours),
      expected_hours: f.expected_hours,
      interval: f.interval_hours ? { level: 0.8, earliest: at(f.interval_hours.low), latest: at(f.interval_hours.high), low_hours: f.interval_hours.low, high_hours: f.interval_hours.high } : null,
      work_based_hours: f.work_based_hours,
      confidence: f.relative_error === null ? 0 : round(Math.max(0, 1 - f.relative_error), 4),
    },
    inputs: {
      tasks_by_status: statuses,
      remaining_tasks: open,
      remaining_estimated_hours: round(remainingEstimate.h, 3),
      completed_in_window: window.completed,
      completed_estimated_hours_in_window: round(window.estimate, 3),
      window_hours: round(span, 3),
      window_start: iso(window.first),
      window_end: latest === null ? null : iso(latest + HOUR),
      rate_per_hour: f.rate_per_hour,
    },
    method: `rate = tasks completed ÷ clock hours from the first to the last completion hour within ${WINDOW_HOURS / 24} days of the latest; expected_hours = remaining (todo + in progress + blocked) ÷ rate, from as_of. `
      + `80% interval: remaining ÷ (rate × (1 ± ${Z80}/√n)), completions counted as Poisson. work_based_hours = remaining estimated hours ÷ (estimated hours completed per hour). confidence = 1 − ${Z80}/√n.`,
    freshness: fresh,
  }
}

type Similar = { tasks: number, succeeded: number, failed: number, blocked: number, est_n: number, est_sum: number, act_sum: number }

/** Outcome figures of a pool of similar tasks. Pure (unit-tested). */
export function outcomeFrom(s: Similar, estimate: number | null) {
  const finished = s.succeeded + s.failed
  return {
    similar_tasks: s.tasks,
    finished,
    success_probability: smoothed(s.succeeded, finished),
    success_interval: wilson(s.succeeded, finished),
    blockage_probability: smoothed(s.blocked, s.tasks),
    blockage_interval: wilson(s.blocked, s.tasks),
    estimate_ratio: s.est_sum > 0 ? round(s.act_sum / s.est_sum, 4) : null,
    expected_hours: s.est_sum > 0 && estimate ? round(estimate * s.act_sum / s.est_sum, 3) : s.est_n > 0 ? round(s.act_sum / s.est_n, 3) : null,
    confidence: sampleConfidence(Math.min(finished, s.tasks)),
  }
}

/**
 * GET /api/patterns/predictions/tasks/{id}: outcome and blockage probability of a task from
 * past tasks with the same label keys (the task's own contribution taken out), across the
 * caller's projects and for the agent holding it.
 */
export function predictTask(taskId: string, scope: Scope) {
  const fresh = freshness()
  const task = stmt(`SELECT id, project_id, name, status, estimated_hours, assigned_agent_id FROM tasks WHERE id = ?`).get(taskId) as
    { id: string, project_id: string, name: string, status: string, estimated_hours: number | null, assigned_agent_id: string | null } | undefined
  if (!task || !inScope(scope, task.project_id)) throw apiError('TASK_NOT_FOUND', `Task '${taskId}' does not exist`, { task_id: taskId })
  const fact = stmt(`SELECT labels, contributions FROM insight_task_facts WHERE task_id = ?`).get(taskId) as { labels: string, contributions: string } | undefined
  const labels = parseJson<string[]>(fact?.labels, ['unlabeled'])
  const own = parseJson<{ agents: { agent: string, c: Similar }[] }>(fact?.contributions, { agents: [] })
  const params: Record<string, unknown> = { labels: JSON.stringify(labels), agent: task.assigned_agent_id }
  const filter = projectFilter('project_id', undefined, scope, params)
  const sums = (agent: boolean) => stmt(`SELECT coalesce(sum(tasks), 0) AS tasks, coalesce(sum(succeeded), 0) AS succeeded, coalesce(sum(failed), 0) AS failed,
      coalesce(sum(blocked), 0) AS blocked, coalesce(sum(est_n), 0) AS est_n, coalesce(sum(est_sum), 0) AS est_sum, coalesce(sum(act_sum), 0) AS act_sum
    FROM ${labelTable(filter)} WHERE label IN (SELECT value FROM json_each(@labels)) AND ${filter} ${agent ? 'AND agent_id = @agent' : ''}`).get(params) as Similar
  // The task's own counts are in the rollups; a prediction must not learn from itself.
  const minus = (s: Similar, agent: string | null) => {
    const out = { ...s }
    for (const a of own.agents) {
      if (agent !== null && a.agent !== agent) continue
      for (const k of ['tasks', 'succeeded', 'failed', 'blocked', 'est_n', 'est_sum', 'act_sum'] as const) out[k] -= (a.c[k] ?? 0) * labels.length
    }
    return out
  }
  const all = minus(sums(false), null)
  const byAgent = task.assigned_agent_id ? minus(sums(true), task.assigned_agent_id) : null
  const agentOutcome = byAgent && byAgent.tasks > 0 ? outcomeFrom(byAgent, task.estimated_hours) : null
  const pooled = outcomeFrom(all, task.estimated_hours)
  const chosen: 'agent' | 'all' = agentOutcome && agentOutcome.finished >= 3 ? 'agent' : 'all'
  const evidence = (stmt(`SELECT DISTINCT task_id FROM insight_task_labels WHERE label IN (SELECT value FROM json_each(@labels)) AND ${filter} AND task_id <> @self LIMIT 10`)
    .all({ ...params, self: taskId }) as { task_id: string }[]).map(r => r.task_id)
  return {
    task_id: taskId,
    project_id: task.project_id,
    status: task.status,
    prediction: { ...(chosen === 'agent' ? agentOutcome! : pooled), based_on: chosen },
    similar: { all_agents: pooled, assigned_agent: agentOutcome },
    inputs: { label_keys: labels, assigned_agent_id: task.assigned_agent_id, estimated_hours: task.estimated_hours, similar_task_ids: evidence },
    method: 'Similar tasks share a label key (labels, or role:<agent type> when unlabeled), pooled over the keys, in the caller\'s projects, the task itself left out. '
      + 'success = (succeeded + 1) ÷ (finished + 2); blockage = (blocked + 1) ÷ (tasks + 2); 80% Wilson intervals; expected_hours = estimate × Σactual ÷ Σestimate. '
      + 'The assigned agent\'s own record is used once it has 3 finished similar tasks.',
    freshness: fresh,
  }
}

/** GET /api/patterns/predictions/cascade: what a delay of a task does downstream. */
export function predictCascade(taskId: string, delayHours: number, scope: Scope) {
  return taskImpact(taskId, { mode: 'delay', delay_hours: delayHours }, scope)
}

// ---------------------------------------------------------------------------------------
// Recommendations

type Recommendation = { id: string, priority: 'high' | 'medium' | 'low', action: string, reason: string, derived_from: string[], evidence: Record<string, unknown> }

/** GET /api/patterns/recommendations: what to do about the detected patterns. */
export function recommendations(q: PatternQuery, scope: Scope) {
  const found = listPatterns({ ...q, type: undefined }, scope)
  const out: Recommendation[] = []
  for (const p of found.patterns) {
    const e = p.evidence
    const n = (key: string) => Number(e[key])
    const s = (key: string) => String(e[key])
    switch (p.type) {
      case 'recurring_blocker':
        out.push({
          id: `fix:${p.id}`, priority: n('open') > 0 || n('occurrences') >= 3 ? 'high' : 'medium',
          action: `Remove the cause of the recurring blocker "${s('key').slice(0, 80)}"`,
          reason: `It occurred ${n('occurrences')}× and held work up ${n('delay_hours')} h; ${n('open')} still open.`, derived_from: [p.id], evidence: e,
        })
        break
      case 'stall':
        out.push({
          id: `check:${p.id}`, priority: n('times_usual') >= 2 * n('factor') ? 'high' : 'medium',
          action: `Check on task ${s('task_id')}${e.agent_id ? ` held by ${s('agent_id')}` : ''}, or re-assign it`,
          reason: `No report for ${n('idle_hours')} h, ${n('times_usual')}× the usual ${n('usual_interval_hours')} h.`, derived_from: [p.id], evidence: e,
        })
        break
      case 'loop':
        out.push({
          id: `interrupt:${p.id}`, priority: n('repeats') >= 2 * LOOP_MIN_REPEATS ? 'high' : 'medium',
          action: `Interrupt ${s('agent_id')}: it is repeating itself in ${s('conversation_id')}`,
          reason: `${n('repeats')} near-identical messages in a row.`, derived_from: [p.id], evidence: e,
        })
        break
      case 'label_duration':
        if (n('tasks_measured') >= 3 && (n('estimate_ratio') > 1.3 || n('estimate_ratio') < 0.7)) {
          out.push({
            id: `estimate:${p.id}`, priority: n('estimate_ratio') > 1.5 ? 'high' : 'low',
            action: `Scale estimates of ${s('label')} tasks by ${n('estimate_ratio')}`,
            reason: `${n('tasks_measured')} finished ${s('label')} tasks took ${n('estimate_ratio')}× their estimates.`, derived_from: [p.id], evidence: e,
          })
        }
        break
      case 'best_agent': {
        const ranking = e.ranking as { agent_id: string, finished: number, smoothed_success: number }[]
        const [best, second] = ranking
        if (best && second && best.finished >= 2 && best.smoothed_success - second.smoothed_success >= 0.15) {
          out.push({
            id: `route:${p.id}`, priority: 'low',
            action: `Route ${s('label')} tasks to ${best.agent_id}`,
            reason: `${best.agent_id} succeeds ${best.smoothed_success} (smoothed) against ${second.smoothed_success} for ${second.agent_id}.`, derived_from: [p.id], evidence: { label: e.label, best, second },
          })
        }
        break
      }
      default:
        break
    }
  }
  const order = { high: 0, medium: 1, low: 2 }
  out.sort((a, b) => order[a.priority] - order[b.priority] || a.id.localeCompare(b.id))
  return {
    as_of: found.as_of,
    recommendations: out.slice(0, q.limit),
    patterns_considered: found.counts,
    method: 'Rules over the detected patterns: recurring blockers → fix the cause (high when open or ≥3×); stalls → check or re-assign (high at 2× the stall factor); loops → interrupt (high at 2× the loop threshold); '
      + 'label durations off by more than 30% over ≥3 tasks → scale estimates; a best agent ahead of the next by ≥0.15 smoothed success over ≥2 tasks → route the label to it.',
    freshness: found.freshness,
  }
}
