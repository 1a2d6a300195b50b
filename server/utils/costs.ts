/**
 * Cost answers, read from the rollups the cost projection keeps (never by scanning usage
 * events, except for the event list itself):
 * - a window `[start, end)` is applied at hour granularity: whole UTC months and days inside
 *   it come from the monthly and daily rollups, the hours at either edge from the quarter-day
 *   and hourly ones (see costSegments); per-task figures come
 *   from `cost_task_daily` (an agent's from `cost_agent_task_daily`), so at day granularity;
 * - burn rate = cost in the last N hourly buckets up to and including the one of `as_of`,
 *   divided by N (or by the buckets since the first usage, when that is later);
 * - projection = spent in the window + burn rate × hours from `as_of` to the window's end.
 * Every list is scoped by the caller's projects in the SQL `WHERE`.
 */
import type { z } from 'zod'
import type {
  CostFigures, costAgentDetailQuery, costDetailQuery, costEventListQuery, costListQuery, costPeriods, costSummaryQuery, costTimeseriesQuery,
  costTimeseriesResponse,
} from '../../shared/costs'
import { type Scope, scopeSql } from './access'
import { DAY_MS, FIGURE_COLUMNS, HOUR_MS, monthStart, nextMonth, QUARTER_MS } from './costs-projection'
import type { Sqlite } from './db'
import { prepared, useDatabase } from './db'
import { apiError } from './errors'
import { iso } from './ids'
import { round } from './values'

type Params = Record<string, string | number>

// ---------------------------------------------------------------------------------------
// Time

export type CostPeriod = (typeof costPeriods)[number]

/** The UTC calendar period containing `at`: `[start, end)`. ISO weeks start on Monday. */
export function costPeriodBounds(period: CostPeriod | 'total', at: number): { start: number, end: number } {
  const d = new Date(at)
  if (period === 'total') return { start: 0, end: Number.MAX_SAFE_INTEGER }
  if (period === 'day') {
    const start = Math.floor(at / DAY_MS) * DAY_MS
    return { start, end: start + DAY_MS }
  }
  if (period === 'week') {
    const day = Math.floor(at / DAY_MS) * DAY_MS
    const start = day - ((d.getUTCDay() + 6) % 7) * DAY_MS
    return { start, end: start + 7 * DAY_MS }
  }
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) }
}

export type CostWindow = { period: CostPeriod | 'custom', start: number, end: number, asOf: number }

type WindowQuery = { period: CostPeriod, since?: number, until?: number, as_of?: number }

export function costWindow(q: WindowQuery, now = Date.now()): CostWindow {
  const asOf = q.as_of ?? now
  if (q.since !== undefined) {
    const end = q.until ?? asOf + 1
    if (end <= q.since) throw apiError('VALIDATION_FAILED', 'until must be after since', { since: iso(q.since), until: iso(end) })
    return { period: 'custom', start: q.since, end, asOf }
  }
  const { start, end } = costPeriodBounds(q.period, asOf)
  return { period: q.period, start, end, asOf }
}

function windowView(w: CostWindow) {
  return { period: w.period, start: iso(w.start)!, end: iso(w.end)!, as_of: iso(w.asOf)! }
}

/** What a window reads: `[start, min(end, as_of)]`, widened to whole hours. */
function readRange(w: CostWindow): { from: number, to: number } {
  const last = Math.min(w.end - 1, w.asOf)
  return { from: Math.floor(w.start / HOUR_MS) * HOUR_MS, to: Math.floor(last / HOUR_MS) * HOUR_MS + HOUR_MS }
}

// ---------------------------------------------------------------------------------------
// Aggregation over the rollups

export type CostFilter = {
  scope: Scope
  projectId?: string
  agentId?: string
  /** Any of these agents. */
  agents?: string[]
  /** Exact model names (a model budget's glob resolved against the stored names). */
  models?: string[]
  model?: string
}

const FIGURES = `coalesce(sum(events), 0) AS events, coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
  coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens, coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
  coalesce(sum(cost), 0) AS cost, coalesce(sum(reported_cost), 0) AS reported_cost, coalesce(sum(unpriced_events), 0) AS unpriced_events`

type FigureRow = {
  events: number
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  cost: number
  reported_cost: number
  unpriced_events: number
}

export function figuresOf(r: FigureRow | undefined): CostFigures {
  const f = r ?? { events: 0, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, cost: 0, reported_cost: 0, unpriced_events: 0 }
  return {
    cost: round(f.cost, 6), estimated_cost: round(f.cost - f.reported_cost, 6), reported_cost: round(f.reported_cost, 6),
    events: f.events, unpriced_events: f.unpriced_events,
    input_tokens: f.input_tokens, output_tokens: f.output_tokens, cache_read_tokens: f.cache_read_tokens, cache_write_tokens: f.cache_write_tokens,
    total_tokens: f.input_tokens + f.output_tokens + f.cache_read_tokens + f.cache_write_tokens,
  }
}

function filterSql(f: CostFilter, params: Params, options: { agentColumn?: boolean } = {}): string[] {
  const where = scopeSql('project_id', f.scope, params)
  if (f.projectId !== undefined) {
    where.push('project_id = @projectId')
    params.projectId = f.projectId
  }
  if (f.agentId !== undefined && options.agentColumn !== false) {
    where.push('agent_id = @agentId')
    params.agentId = f.agentId
  }
  if (f.agents !== undefined && options.agentColumn !== false) {
    where.push('agent_id IN (SELECT value FROM json_each(@agents))')
    params.agents = JSON.stringify(f.agents)
  }
  if (f.model !== undefined) {
    where.push('model = @model')
    params.model = f.model
  }
  if (f.models !== undefined) {
    where.push('model IN (SELECT value FROM json_each(@models))')
    params.models = JSON.stringify(f.models)
  }
  return where
}

/** `cost_quarterly` stands for the quarter-day rollups, which exist without the agent or without the model only. */
type Table = 'cost_hourly' | 'cost_quarterly' | 'cost_daily' | 'cost_monthly'
/** The rollups without the agent: for answers that neither filter nor group by agent. */
const WITHOUT_AGENT: Record<Table, string> = { cost_hourly: 'cost_model_hourly', cost_quarterly: 'cost_model_quarterly', cost_daily: 'cost_model_daily', cost_monthly: 'cost_model_monthly' }
/** The rollups without the model: for answers by agent that neither filter nor group by model. */
const WITHOUT_MODEL: Record<Table, string> = { cost_hourly: 'cost_agent_hourly', cost_quarterly: 'cost_agent_quarterly', cost_daily: 'cost_agent_daily', cost_monthly: 'cost_agent_monthly' }

/** Which rollup a filter and grouping need: the one with the fewest rows that still has their columns. */
function rollupFor(table: Table, f: CostFilter, groupBy: string[]): string {
  const agent = f.agentId !== undefined || f.agents !== undefined || groupBy.includes('agent_id')
  const model = f.model !== undefined || f.models !== undefined || groupBy.includes('model') || groupBy.includes('provider')
  if (agent && model) return table
  return agent ? WITHOUT_MODEL[table] : WITHOUT_AGENT[table]
}
export type Segment = { table: Table, from: number, to: number, sign: 1 | -1 }

const floorQuarter = (t: number) => Math.floor(t / QUARTER_MS) * QUARTER_MS
const ceilQuarter = (t: number) => Math.ceil(t / QUARTER_MS) * QUARTER_MS
const floorDay = (t: number) => Math.floor(t / DAY_MS) * DAY_MS
const ceilDay = (t: number) => Math.ceil(t / DAY_MS) * DAY_MS
const ceilMonth = (t: number) => (monthStart(t) === t ? t : nextMonth(t))

/**
 * `[from, to)` (hour-aligned) as rollup ranges: whole months from the monthly rollup, whole
 * days from the daily one, whole quarters of a day (unless `quarters: false`) from the
 * quarter-day one, hours from the hourly one. A part that starts a month (a day, a quarter)
 * and covers more than half of it is read as the whole month (day, quarter) minus the rest, so
 * the current month up to now costs one month of rows and an empty range.
 */
export function costSegments(from: number, to: number, options: { quarters?: boolean } = {}): Segment[] {
  const out: Segment[] = []
  const push = (table: Table, f: number, t: number, sign: 1 | -1) => {
    if (f < t) out.push({ table, from: f, to: t, sign })
  }
  // Hours `[a, b)` within a day: whole quarters from the quarter-day rollups (an edge of more than
  // half a quarter as the quarter minus the rest), the other hours from the hourly ones.
  const hours = (a: number, b: number, sign: 1 | -1) => {
    const q0 = ceilQuarter(a)
    const q1 = floorQuarter(b)
    if (options.quarters === false || q0 > q1) {
      push('cost_hourly', a, b, sign)
      return
    }
    let quartersFrom = q0
    if (q0 - a > QUARTER_MS / 2) {
      quartersFrom = q0 - QUARTER_MS
      push('cost_hourly', quartersFrom, a, -sign as 1 | -1)
    }
    else push('cost_hourly', a, q0, sign)
    let quartersTo = q1
    if (b - q1 > QUARTER_MS / 2) {
      quartersTo = q1 + QUARTER_MS
      push('cost_hourly', b, quartersTo, -sign as 1 | -1)
    }
    else push('cost_hourly', q1, b, sign)
    push('cost_quarterly', quartersFrom, quartersTo, sign)
  }
  const days = (d0: number, d1: number) => {
    if (d0 >= d1) return
    const m0 = ceilMonth(d0)
    const m1 = monthStart(d1)
    if (m0 > m1) {
      const ms = monthStart(d0)
      const me = nextMonth(ms)
      if (d0 === ms && d1 - d0 > (me - ms) / 2) {
        push('cost_monthly', ms, me, 1)
        push('cost_daily', d1, me, -1)
      }
      else push('cost_daily', d0, d1, 1)
      return
    }
    push('cost_daily', d0, m0, 1)
    let monthsEnd = m1
    if (m1 < d1) {
      const me = nextMonth(m1)
      if (d1 - m1 > (me - m1) / 2) {
        monthsEnd = me
        push('cost_daily', d1, me, -1)
      }
      else push('cost_daily', m1, d1, 1)
    }
    push('cost_monthly', m0, monthsEnd, 1)
  }
  if (from >= to) return out
  const d0 = ceilDay(from)
  const d1 = floorDay(to)
  if (d0 > d1) {
    const day = floorDay(from)
    if (from === day && to - from > DAY_MS / 2) {
      push('cost_daily', day, day + DAY_MS, 1)
      hours(to, day + DAY_MS, -1)
    }
    else hours(from, to, 1)
    return out
  }
  hours(from, d0, 1)
  let daysEnd = d1
  if (d1 < to) {
    if (to - d1 > DAY_MS / 2) {
      daysEnd = d1 + DAY_MS
      hours(to, daysEnd, -1)
    }
    else hours(d1, to, 1)
  }
  days(d0, daysEnd)
  return out
}

const COLUMN: Record<Table, string> = { cost_hourly: 'hour', cost_quarterly: 'quarter', cost_daily: 'day', cost_monthly: 'month' }

/** Only what ranks groups: their cost and events. */
const RANK = 'coalesce(sum(events), 0) AS events, coalesce(sum(cost), 0) AS cost'

/**
 * Figures over `[from, to)` (hour-aligned), grouped by some of project_id, agent_id, model,
 * provider, from the rollup ranges of `costSegments`. `rank`: the cost and events only, which
 * sorts far smaller rows when only the first groups matter.
 */
export function aggregateCosts(sqlite: Sqlite, f: CostFilter, from: number, to: number, groupBy: string[] = [], options: { top?: number, rank?: boolean } = {}) {
  const params: Params = {}
  const where = filterSql(f, params)
  const and = where.length ? ` AND ${where.join(' AND ')}` : ''
  // Quarter-day rollups exist without the agent or without the model: with both, hours are read instead.
  const both = rollupFor('cost_hourly', f, groupBy) === 'cost_hourly'
  // Each range gives its grouping columns and the figures summed, negated when it is taken away: the
  // rows the grouping sorts are no wider than they must be.
  const figures = options.rank ? ['events', 'cost'] : FIGURE_COLUMNS.split(', ')
  const parts = costSegments(from, to, { quarters: !both }).map((seg, i) => {
    params[`f${i}`] = seg.from
    params[`t${i}`] = seg.to
    const column = COLUMN[seg.table]
    const values = seg.sign === 1 ? figures : figures.map(c => `-${c} AS ${c}`)
    return `SELECT ${[...groupBy, ...values].join(', ')} FROM ${rollupFor(seg.table, f, groupBy)} WHERE ${column} >= @f${i} AND ${column} < @t${i}${and}`
  })
  if (!parts.length) return []
  const group = groupBy.join(', ')
  const sql = `SELECT ${group ? `${group}, ` : ''}${options.rank ? RANK : FIGURES} FROM (${parts.join(' UNION ALL ')})${group
    ? ` GROUP BY ${group} HAVING sum(events) <> 0 ORDER BY cost DESC, events DESC, ${group}`
    : ''}${options.top ? ` LIMIT ${Math.floor(options.top)}` : ''}`
  return prepared(sqlite, sql).all(params) as (FigureRow & Record<string, string>)[]
}

type GroupRow = FigureRow & { project_id: string, agent_id: string, model: string, provider: string }
type TaskRow = FigureRow & { task_id: string, project_id: string }

/**
 * The window grouped by (project, model, provider) from the rollups without the agent; the
 * totals and every breakdown but the agents' are sums of those groups. Agents come from the
 * rollups without the model: ranked by cost and events first, then the figures of the first n.
 */
function breakdown(sqlite: Sqlite, f: CostFilter, from: number, to: number) {
  const rows = aggregateCosts(sqlite, f, from, to, ['project_id', 'model', 'provider']) as unknown as GroupRow[]
  const topAgents = (n: number) => {
    const agents = aggregateCosts(sqlite, f, from, to, ['agent_id'], { top: n, rank: true }).map(r => r.agent_id!)
    return (agents.length ? aggregateCosts(sqlite, { ...f, agents }, from, to, ['agent_id']) : []) as unknown as GroupRow[]
  }
  const top = (keys: (keyof GroupRow)[], n: number) => {
    const source = keys.includes('agent_id') ? topAgents(n) : rows
    if (keys.some(k => k !== 'agent_id') && keys.includes('agent_id')) throw new Error('breakdown: agents are grouped on their own')
    const groups = new Map<string, FigureRow & Record<string, string>>()
    for (const r of source) {
      const key = keys.map(k => r[k]).join('\u0000')
      const known = groups.get(key)
      if (known) Object.assign(known, sumRows(known, r))
      else groups.set(key, { ...sumRows(ZERO, r), ...Object.fromEntries(keys.map(k => [k, String(r[k])])) } as FigureRow & Record<string, string>)
    }
    const byKeys = (a: Record<string, string>, b: Record<string, string>) => {
      for (const k of keys) {
        const c = String(a[k]).localeCompare(String(b[k]))
        if (c) return c
      }
      return 0
    }
    return [...groups.values()].sort((a, b) => b.cost - a.cost || b.events - a.events || byKeys(a, b)).slice(0, n)
  }
  return { totals: figuresOf(rows.reduce(sumRows, ZERO)), top }
}

/**
 * The costliest tasks over the UTC days overlapping `[from, to)`, exactly:
 * - a window within one month that holds all of that month's usage: the head of the
 *   monthly per-task index;
 * - a window within one month's days: a sum over the daily per-task rows;
 * - longer windows: the candidates are the head (4 × top) of each overlapped month's index
 *   and every task with usage in more than one month overlapping them (`cost_task_spans`); their exact figures come from
 *   their daily rows (or, for a task of one month whose usage all lies inside the window, its month row). Any other task
 *   has usage in one month only, so it cannot cost more than
 *   the largest of the heads' last entries (a month's total is at least its share of the
 *   window). When the top-th candidate is below that bound, the daily rows of the whole window
 *   are summed instead.
 */
function taskAggregate(sqlite: Sqlite, f: CostFilter, from: number, to: number, top: number) {
  const d0 = floorDay(from)
  const d1 = ceilDay(to)
  const month = monthStart(d0)
  const daily = () => {
    const params: Params = { d0, d1 }
    const where = filterSql(f, params, { agentColumn: false })
    return prepared(sqlite, `SELECT project_id, task_id, ${FIGURES} FROM cost_task_daily WHERE day >= @d0 AND day < @d1${where.length ? ` AND ${where.join(' AND ')}` : ''}
      GROUP BY project_id, task_id ORDER BY cost DESC, events DESC, task_id, project_id LIMIT ${Math.floor(top)}`).all(params) as TaskRow[]
  }
  /** The month's costliest tasks; `rank`: with their cost and events only. */
  const head = (m: number, limit: number, rank = false) => {
    const p: Params = { month: m }
    const w = filterSql(f, p, { agentColumn: false })
    // Without statistics the planner would take the primary key for a project and sort its whole month.
    const index = f.projectId === undefined ? '' : ' INDEXED BY cost_task_monthly_project_cost_idx'
    return prepared(sqlite, `SELECT project_id, task_id, ${rank ? 'events, cost' : FIGURE_COLUMNS}
      FROM cost_task_monthly${index} WHERE month = @month${w.length ? ` AND ${w.join(' AND ')}` : ''} ORDER BY cost DESC, events DESC, task_id, project_id LIMIT ${Math.floor(limit)}`)
      .all(p) as TaskRow[]
  }
  /** Tasks' sums of their daily rows over the window, in one statement: a primary-key range each. */
  const window = (tasks: { project_id: string, task_id: string }[], figures: string) => prepared(sqlite, `SELECT c.value ->> 0 AS project_id,
      c.value ->> 1 AS task_id, ${figures.replaceAll('sum(', 'sum(d.')}
    FROM json_each(@tasks) c JOIN cost_task_daily d ON d.project_id = c.value ->> 0 AND d.task_id = c.value ->> 1 AND d.day >= @d0 AND d.day < @d1
    GROUP BY c.key`).all({ tasks: JSON.stringify(tasks.map(t => [t.project_id, t.task_id])), d0, d1 }) as TaskRow[]
  /** Is there usage on the days `[a, b)`? */
  const usageIn = (a: number, b: number) => {
    if (a >= b) return false
    const params: Params = { a, b }
    const where = filterSql(f, params, { agentColumn: false })
    return prepared(sqlite, `SELECT 1 FROM cost_model_daily WHERE day >= @a AND day < @b${where.length ? ` AND ${where.join(' AND ')}` : ''} LIMIT 1`).get(params) !== undefined
  }
  /** The month's usage lies inside the window's days: its rows are the window's figures of its tasks (of that month only). */
  const inside = (m: number) => !usageIn(m, d0) && !usageIn(d1, nextMonth(m))
  if (d1 <= nextMonth(month)) return inside(month) ? head(month, top) : daily()
  const k = top * 4
  let bound = 0
  const candidates = new Map<string, { project_id: string, task_id: string }>()
  // A task of a month inside the window with no usage in other months: its month row is its window figure.
  const known = new Map<string, TaskRow>()
  // Ranked on cost and events (narrow rows); the figures are read for the tasks listed only.
  for (let m = month; m < d1; m = nextMonth(m)) {
    const rows = head(m, k, true)
    const whole = inside(m)
    for (const r of rows) {
      candidates.set(`${r.project_id}\u0000${r.task_id}`, r)
      if (whole) known.set(`${r.project_id}\u0000${r.task_id}`, r)
    }
    if (rows.length === k) bound = Math.max(bound, rows[k - 1]!.cost)
  }
  const spanParams: Params = { m0: month, m1: d1 }
  const spanWhere = filterSql(f, spanParams, { agentColumn: false })
  // Tasks with usage in several months are few (those running across a month's end): listed apart.
  const spanning = prepared(sqlite, `SELECT project_id, task_id FROM cost_task_spans WHERE first_month < @m1 AND last_month >= @m0${spanWhere.length ? ` AND ${spanWhere.join(' AND ')}` : ''}`)
    .all(spanParams) as { project_id: string, task_id: string }[]
  for (const r of spanning) {
    candidates.set(`${r.project_id}\u0000${r.task_id}`, r)
    known.delete(`${r.project_id}\u0000${r.task_id}`)
  }
  const exact = window([...candidates.entries()].filter(([key]) => !known.has(key)).map(([, c]) => c), RANK)
  const ranked = [...known.values(), ...exact]
    .filter(r => r.events > 0)
    .sort((a, b) => b.cost - a.cost || b.events - a.events || a.task_id.localeCompare(b.task_id) || a.project_id.localeCompare(b.project_id))
  const enough = ranked.length >= top ? ranked[top - 1]!.cost >= bound : candidates.size < k || bound === 0
  if (!enough) return daily()
  // The listed tasks' figures: their daily rows over the window (a task of a month inside the window has all its usage there).
  const listed = ranked.slice(0, top)
  const figures = new Map(window(listed, FIGURES).map(r => [`${r.project_id}\u0000${r.task_id}`, r]))
  return listed.map(r => figures.get(`${r.project_id}\u0000${r.task_id}`)!)
}

/**
 * An agent's costliest tasks over the UTC days overlapping `[from, to)`, from its rows per task
 * (every model together): a month that holds no usage of the agent outside the window is read
 * from the monthly rows, the window's other days from the daily ones. A window whose usage lies in
 * one such month is the head of the monthly index.
 */
function agentTaskAggregate(sqlite: Sqlite, f: CostFilter, from: number, to: number, top: number) {
  const params: Params = { agentId: f.agentId! }
  const where = ['agent_id = @agentId', ...scopeSql('project_id', f.scope, params)]
  if (f.projectId !== undefined) {
    where.push('project_id = @projectId')
    params.projectId = f.projectId
  }
  const and = where.join(' AND ')
  const edge = (order: 'ASC' | 'DESC') => (prepared(sqlite, `SELECT day FROM cost_agent_task_daily WHERE ${and} ORDER BY day ${order} LIMIT 1`).get(params) as { day: number } | undefined)?.day
  const first = edge('ASC')
  if (first === undefined) return []
  const end = edge('DESC')! + DAY_MS
  // The agent's usage lies in [first, end): only those days are read.
  const d0 = Math.max(floorDay(from), first)
  const d1 = Math.min(ceilDay(to), end)
  if (d0 >= d1) return []
  const usedIn = (a: number, b: number) => Math.max(a, first) < Math.min(b, end)
    && prepared(sqlite, `SELECT 1 FROM cost_agent_task_daily WHERE ${and} AND day >= @a AND day < @b LIMIT 1`).get({ ...params, a, b }) !== undefined
  const months: number[] = []
  const days: [number, number][] = []
  for (let m = monthStart(d0); m < d1; m = nextMonth(m)) {
    const a = Math.max(d0, m)
    const b = Math.min(d1, nextMonth(m))
    if (!usedIn(m, a) && !usedIn(b, nextMonth(m))) months.push(m)
    else days.push([a, b])
  }
  const order = `ORDER BY cost DESC, events DESC, task_id, project_id LIMIT ${Math.floor(top)}`
  if (months.length === 1 && !days.length) {
    return prepared(sqlite, `SELECT project_id, task_id, ${FIGURE_COLUMNS}
      FROM cost_agent_task_monthly WHERE ${and} AND month = @month ${order}`).all({ ...params, month: months[0]! }) as TaskRow[]
  }
  const parts: string[] = []
  if (months.length) {
    params.months = JSON.stringify(months)
    parts.push(`SELECT project_id, task_id, ${FIGURE_COLUMNS} FROM cost_agent_task_monthly WHERE ${and} AND month IN (SELECT value FROM json_each(@months))`)
  }
  days.forEach(([a, b], i) => {
    params[`a${i}`] = a
    params[`b${i}`] = b
    parts.push(`SELECT project_id, task_id, ${FIGURE_COLUMNS} FROM cost_agent_task_daily WHERE ${and} AND day >= @a${i} AND day < @b${i}`)
  })
  return prepared(sqlite, `SELECT project_id, task_id, ${FIGURES} FROM (${parts.join(' UNION ALL ')}) GROUP BY project_id, task_id ${order}`)
    .all(params) as TaskRow[]
}

export type BurnRate = { per_hour: number, per_day: number, window_start: string, window_end: string, hours: number, cost_in_window: number }

/** See the header: the N hourly buckets up to the one of `asOf`, or fewer since the first usage. */
export function costBurnRate(sqlite: Sqlite, f: CostFilter, asOf: number, windowHours: number): BurnRate {
  const params: Params = {}
  const where = filterSql(f, params)
  const and = where.length ? ` AND ${where.join(' AND ')}` : ''
  const end = Math.floor(asOf / HOUR_MS) * HOUR_MS + HOUR_MS
  const hourly = f.agentId !== undefined
    ? (f.model === undefined && f.models === undefined ? 'cost_agent_hourly' : 'cost_hourly')
    : f.scope === null && f.projectId === undefined ? 'cost_hour_model' : 'cost_model_hourly'
  const first = (prepared(sqlite, `SELECT min(hour) AS first FROM ${hourly} WHERE hour < @end${and}`).get({ ...params, end }) as { first: number | null }).first
  const start = Math.max(end - windowHours * HOUR_MS, first ?? end - windowHours * HOUR_MS)
  const { cost } = prepared(sqlite, `SELECT coalesce(sum(cost), 0) AS cost FROM ${hourly} WHERE hour >= @start AND hour < @end${and}`)
    .get({ ...params, start, end }) as { cost: number }
  return burnView(start, end, cost)
}

function burnView(start: number, end: number, cost: number): BurnRate {
  const hours = Math.max(1, (end - start) / HOUR_MS)
  const perHour = cost / hours
  return {
    per_hour: round(perHour, 6), per_day: round(perHour * 24, 6), window_start: iso(start)!, window_end: iso(end)!, hours,
    cost_in_window: round(cost, 6),
  }
}

/**
 * `costBurnRate` of many (project, agent) pairs at once: their costs over the last N hours in
 * one grouped read; an agent whose first hour in it is not the window's first is looked up for
 * earlier usage (one index seek), which decides whether its burn starts at the window's start
 * or at its first usage.
 */
function agentBurnRates(sqlite: Sqlite, agents: { project_id: string, agent_id: string }[], asOf: number, windowHours: number): Map<string, BurnRate> {
  const end = Math.floor(asOf / HOUR_MS) * HOUR_MS + HOUR_MS
  const start = end - windowHours * HOUR_MS
  const key = (projectId: string, agentId: string) => `${projectId}\u0000${agentId}`
  const out = new Map<string, BurnRate>()
  if (!agents.length) return out
  const sums = new Map((prepared(sqlite, `SELECT project_id, agent_id, sum(cost) AS cost, min(hour) AS first FROM cost_agent_hourly
    WHERE hour >= @start AND hour < @end AND agent_id IN (SELECT value FROM json_each(@agents)) GROUP BY project_id, agent_id`)
    .all({ start, end, agents: JSON.stringify([...new Set(agents.map(a => a.agent_id))]) }) as { project_id: string, agent_id: string, cost: number, first: number }[])
    .map(r => [key(r.project_id, r.agent_id), r]))
  // `+project_id`: seek the (agent, hour) index rather than walk the project's hours.
  const earlier = prepared(sqlite, 'SELECT EXISTS (SELECT 1 FROM cost_agent_hourly WHERE agent_id = @agentId AND hour < @start AND +project_id = @projectId) AS e')
  for (const a of agents) {
    const k = key(a.project_id, a.agent_id)
    const s = sums.get(k)
    let from = start
    if (s && s.first > start && !(earlier.get({ agentId: a.agent_id, projectId: a.project_id, start }) as { e: number }).e) from = s.first
    out.set(k, burnView(from, end, s?.cost ?? 0))
  }
  return out
}

function projectionOf(w: CostWindow, spent: number, burn: BurnRate) {
  if (w.end <= w.asOf || w.end >= Number.MAX_SAFE_INTEGER) return null
  const hoursRemaining = (w.end - w.asOf) / HOUR_MS
  return {
    period_end: iso(w.end)!, hours_remaining: round(hoursRemaining, 4), spent: round(spent, 6),
    projected_cost: round(spent + (burn.cost_in_window / burn.hours) * hoursRemaining, 6),
  }
}

function names(sqlite: Sqlite, table: 'projects' | 'tasks', ids: string[]): Map<string, string> {
  if (!ids.length) return new Map()
  const rows = prepared(sqlite, `SELECT id, name FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids)) as { id: string, name: string }[]
  return new Map(rows.map(r => [r.id, r.name]))
}

function byProject(sqlite: Sqlite, rows: (FigureRow & Record<string, string>)[]) {
  const n = names(sqlite, 'projects', rows.map(r => r.project_id!))
  return rows.map(r => ({ project_id: r.project_id!, name: n.get(r.project_id!) ?? null, ...figuresOf(r) }))
}

function byTask(sqlite: Sqlite, rows: TaskRow[]) {
  const n = names(sqlite, 'tasks', rows.map(r => r.task_id))
  return rows.map(r => ({ task_id: r.task_id, project_id: r.project_id, name: n.get(r.task_id) ?? null, ...figuresOf(r) }))
}

const byAgent = (rows: (FigureRow & Record<string, string>)[]) => rows.map(r => ({ agent_id: r.agent_id || null, ...figuresOf(r) }))
const byModel = (rows: (FigureRow & Record<string, string>)[]) => rows.map(r => ({ model: r.model!, provider: r.provider || null, ...figuresOf(r) }))

function dailyOf(sqlite: Sqlite, f: CostFilter, w: CostWindow) {
  const { from, to } = readRange(w)
  const params: Params = { d0: Math.floor(from / DAY_MS) * DAY_MS, d1: to }
  const where = filterSql(f, params)
  const table = f.agentId === undefined ? 'cost_model_daily' : 'cost_agent_daily'
  const rows = prepared(sqlite, `SELECT day, ${FIGURES} FROM ${table} WHERE day >= @d0 AND day < @d1${where.length ? ` AND ${where.join(' AND ')}` : ''}
    GROUP BY day ORDER BY day`).all(params) as (FigureRow & { day: number })[]
  return rows.map(r => ({ start: iso(r.day)!, ...figuresOf(r) }))
}

// ---------------------------------------------------------------------------------------
// Endpoints

type SummaryQuery = z.output<typeof costSummaryQuery>

export function costSummary(q: SummaryQuery, scope: Scope, now = Date.now()) {
  const { sqlite } = useDatabase()
  const w = costWindow(q, now)
  const f: CostFilter = { scope, projectId: q.project_id }
  const { from, to } = readRange(w)
  const b = breakdown(sqlite, f, from, to)
  const totals = b.totals
  const burn = costBurnRate(sqlite, f, w.asOf, q.burn_window_hours)
  return {
    currency: 'USD' as const,
    total_cost: totals.cost,
    window: windowView(w),
    totals,
    by_project: byProject(sqlite, b.top(['project_id'], q.top)),
    by_agent: byAgent(b.top(['agent_id'], q.top)),
    by_task: byTask(sqlite, taskAggregate(sqlite, f, from, to, q.top)),
    by_model: byModel(b.top(['model', 'provider'], q.top)),
    burn_rate: burn,
    projection: projectionOf(w, totals.cost, burn),
  }
}

export function costProjects(q: z.output<typeof costListQuery>, scope: Scope, now = Date.now()) {
  const { sqlite } = useDatabase()
  const w = costWindow(q, now)
  const f: CostFilter = { scope, projectId: q.project_id }
  const { from, to } = readRange(w)
  const rows = byProject(sqlite, aggregateCosts(sqlite, f, from, to, ['project_id'], { top: q.limit }))
  return {
    currency: 'USD' as const,
    window: windowView(w),
    projects: rows.map((r) => {
      const burn = costBurnRate(sqlite, { scope: null, projectId: r.project_id }, w.asOf, q.burn_window_hours)
      return { ...r, burn_rate_per_day: burn.per_day, projected_cost: projectionOf(w, r.cost, burn)?.projected_cost ?? null }
    }),
  }
}

export function costProject(projectId: string, q: z.output<typeof costDetailQuery>, now = Date.now()) {
  const { sqlite } = useDatabase()
  const project = prepared(sqlite, 'SELECT name FROM projects WHERE id = ?').get(projectId) as { name: string } | undefined
  if (!project) throw apiError('PROJECT_NOT_FOUND', `Project '${projectId}' does not exist`, { project_id: projectId })
  const w = costWindow(q, now)
  const f: CostFilter = { scope: null, projectId }
  const { from, to } = readRange(w)
  const b = breakdown(sqlite, f, from, to)
  const totals = b.totals
  const burn = costBurnRate(sqlite, f, w.asOf, q.burn_window_hours)
  return {
    currency: 'USD' as const,
    project_id: projectId,
    name: project.name,
    window: windowView(w),
    totals,
    by_agent: byAgent(b.top(['agent_id'], q.top)),
    by_task: byTask(sqlite, taskAggregate(sqlite, f, from, to, q.top)),
    by_model: byModel(b.top(['model', 'provider'], q.top)),
    daily: dailyOf(sqlite, f, w),
    burn_rate: burn,
    projection: projectionOf(w, totals.cost, burn),
  }
}

export function costAgents(q: z.output<typeof costListQuery>, scope: Scope, now = Date.now()) {
  const { sqlite } = useDatabase()
  const w = costWindow(q, now)
  const f: CostFilter = { scope, projectId: q.project_id }
  const { from, to } = readRange(w)
  const rows = aggregateCosts(sqlite, f, from, to, ['agent_id', 'project_id'], { top: q.limit + 1 }).filter(r => r.agent_id !== '').slice(0, q.limit)
  const burns = agentBurnRates(sqlite, rows.map(r => ({ project_id: r.project_id!, agent_id: r.agent_id! })), w.asOf, q.burn_window_hours)
  return {
    currency: 'USD' as const,
    window: windowView(w),
    agents: rows.map((r) => {
      const burn = burns.get(`${r.project_id}\u0000${r.agent_id}`)!
      return { agent_id: r.agent_id!, project_id: r.project_id!, ...figuresOf(r), burn_rate_per_day: burn.per_day }
    }),
  }
}

export function costAgent(agentId: string, q: z.output<typeof costAgentDetailQuery>, scope: Scope, now = Date.now()) {
  const { sqlite } = useDatabase()
  const params: Params = { agentId }
  const where = scopeSql('project_id', scope, params)
  const projects = (prepared(sqlite, `SELECT DISTINCT project_id FROM cost_monthly WHERE agent_id = @agentId${where.length ? ` AND ${where.join(' AND ')}` : ''} ORDER BY project_id`)
    .all(params) as { project_id: string }[]).map(r => r.project_id)
  const known = prepared(sqlite, 'SELECT project_id FROM agents WHERE id = ?').get(agentId) as { project_id: string } | undefined
  const visibleAgent = projects.length > 0 || (known !== undefined && (scope === null || scope.includes(known.project_id)))
  if (!visibleAgent) throw apiError('AGENT_NOT_FOUND', `Agent with ID '${agentId}' does not exist`, { agent_id: agentId })
  const w = costWindow(q, now)
  const f: CostFilter = { scope, projectId: q.project_id, agentId }
  const { from, to } = readRange(w)
  const b = breakdown(sqlite, f, from, to)
  const totals = b.totals
  const burn = costBurnRate(sqlite, f, w.asOf, q.burn_window_hours)
  return {
    currency: 'USD' as const,
    agent_id: agentId,
    projects,
    window: windowView(w),
    totals,
    by_model: byModel(b.top(['model', 'provider'], q.top)),
    by_project: byProject(sqlite, b.top(['project_id'], q.top)),
    by_task: byTask(sqlite, agentTaskAggregate(sqlite, f, from, to, q.top)),
    daily: dailyOf(sqlite, f, w),
    burn_rate: burn,
    projection: projectionOf(w, totals.cost, burn),
  }
}

// ---------------------------------------------------------------------------------------
// Time series

const MAX_BUCKETS = 2000

function bucketStart(bucket: 'hour' | 'day' | 'week' | 'month', t: number): number {
  if (bucket === 'hour') return Math.floor(t / HOUR_MS) * HOUR_MS
  return costPeriodBounds(bucket, t).start
}

function nextBucket(bucket: 'hour' | 'day' | 'week' | 'month', t: number): number {
  if (bucket === 'hour') return t + HOUR_MS
  return costPeriodBounds(bucket, t).end
}

export function costTimeseries(q: z.output<typeof costTimeseriesQuery>, scope: Scope, now = Date.now()): z.output<typeof costTimeseriesResponse> {
  const { sqlite } = useDatabase()
  const until = q.until ?? now + 1
  let since = q.since
  if (since === undefined) {
    since = bucketStart(q.bucket, until - 1)
    for (let i = 1; i < 48; i++) since = bucketStart(q.bucket, since - 1)
  }
  if (until <= since) throw apiError('VALIDATION_FAILED', 'until must be after since', { since: iso(since), until: iso(until) })
  const starts: number[] = []
  for (let t = bucketStart(q.bucket, since); t < until; t = nextBucket(q.bucket, t)) {
    starts.push(t)
    if (starts.length > MAX_BUCKETS) {
      throw apiError('VALIDATION_FAILED', `At most ${MAX_BUCKETS} buckets: choose a larger bucket or a shorter range`, { bucket: q.bucket, max_buckets: MAX_BUCKETS })
    }
  }
  const from = starts[0]!
  const to = nextBucket(q.bucket, starts.at(-1)!)
  const params: Params = { from, to }
  const where = filterSql({ scope, projectId: q.project_id, agentId: q.agent_id, model: q.model }, params)
  // The rollup with the fewest rows that has the columns asked for: without the agent, without the model,
  // or (over every project) without the project.
  const agent = q.agent_id !== undefined || q.group_by === 'agent'
  const model = q.model !== undefined || q.group_by === 'model'
  const project = q.project_id !== undefined || scope !== null || q.group_by === 'project'
  const table = q.bucket === 'hour'
    ? (agent ? (model ? 'cost_hourly' : 'cost_agent_hourly') : project ? 'cost_model_hourly' : 'cost_hour_model')
    : (agent ? (model ? 'cost_daily' : 'cost_agent_daily') : project ? 'cost_model_daily' : 'cost_day_model')
  const column = q.bucket === 'hour' ? 'hour' : 'day'
  const bucketExpr = q.bucket === 'week'
    ? `day - ((day / ${DAY_MS} + 3) % 7) * ${DAY_MS}`
    : q.bucket === 'month' ? `CAST(strftime('%s', day / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000` : column
  const keyColumn = q.group_by === 'project' ? 'project_id' : q.group_by === 'agent' ? 'agent_id' : q.group_by === 'model' ? 'model' : null
  const sql = `SELECT ${bucketExpr} AS bucket${keyColumn ? `, ${keyColumn} AS key` : ''}, ${FIGURES} FROM ${table}
    WHERE ${column} >= @from AND ${column} < @to${where.length ? ` AND ${where.join(' AND ')}` : ''}
    GROUP BY bucket${keyColumn ? ', key' : ''}`
  // Raw rows (arrays) and each bucket's time written once: a series per model is hundreds of points.
  const k = keyColumn ? 1 : 0
  const rows = (prepared(sqlite, sql, true).all(params) as (number | string)[][]).map(r => ({
    bucket: r[0] as number, key: keyColumn ? r[1] as string : undefined, events: r[k + 1] as number, input_tokens: r[k + 2] as number,
    output_tokens: r[k + 3] as number, cache_read_tokens: r[k + 4] as number, cache_write_tokens: r[k + 5] as number, cost: r[k + 6] as number,
    reported_cost: r[k + 7] as number, unpriced_events: r[k + 8] as number,
  }))
  const startIso = starts.map(t => iso(t)!)
  const slot = new Map(starts.map((t, i) => [t, i]))
  const empty = figuresOf(undefined)
  const fill = (source: (FigureRow & { bucket: number })[]) => {
    const byBucket: (FigureRow | undefined)[] = []
    for (const r of source) {
      const i = slot.get(r.bucket)
      if (i === undefined) continue
      const known = byBucket[i]
      byBucket[i] = known ? sumRows(known, r) : r
    }
    return startIso.map((start, i) => {
      const f = byBucket[i]
      return { start, ...(f ? figuresOf(f) : empty) }
    })
  }
  const answer = {
    currency: 'USD' as const, bucket: q.bucket, since: iso(from)!, until: iso(to)!, points: fill(rows),
  }
  if (!keyColumn) return answer
  const perKey = new Map<string, (FigureRow & { bucket: number })[]>()
  for (const r of rows) {
    const list = perKey.get(r.key!)
    if (list) list.push(r)
    else perKey.set(r.key!, [r])
  }
  const series = [...perKey.entries()]
    .map(([key, list]) => ({ key, cost: list.reduce((s, r) => s + r.cost, 0), list }))
    .sort((a, b) => b.cost - a.cost || a.key.localeCompare(b.key))
    .slice(0, 10)
    .map(s => ({ key: s.key === '' ? null : s.key, cost: round(s.cost, 6), points: fill(s.list) }))
  return { ...answer, series }
}

const ZERO: FigureRow = { events: 0, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, cost: 0, reported_cost: 0, unpriced_events: 0 }

function sumRows(a: FigureRow, b: FigureRow): FigureRow {
  return {
    events: a.events + b.events, input_tokens: a.input_tokens + b.input_tokens, output_tokens: a.output_tokens + b.output_tokens,
    cache_read_tokens: a.cache_read_tokens + b.cache_read_tokens, cache_write_tokens: a.cache_write_tokens + b.cache_write_tokens,
    cost: a.cost + b.cost, reported_cost: a.reported_cost + b.reported_cost, unpriced_events: a.unpriced_events + b.unpriced_events,
  }
}

// ---------------------------------------------------------------------------------------
// Usage events

type CostEventDbRow = {
  seq: number
  event_id: string
  project_id: string
  agent_id: string | null
  task_id: string | null
  provider: string | null
  model: string
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  cost: number | null
  cost_source: 'reported' | 'estimated' | 'unpriced'
  price_id: number | null
  ts: number
}

const EVENT_COLUMNS = 'seq, event_id, project_id, agent_id, task_id, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost, cost_source, price_id, ts'

function eventView(r: CostEventDbRow) {
  return {
    id: r.event_id, seq: r.seq, project_id: r.project_id, agent_id: r.agent_id, task_id: r.task_id, provider: r.provider, model: r.model,
    input_tokens: r.input_tokens, output_tokens: r.output_tokens, cache_read_tokens: r.cache_read_tokens, cache_write_tokens: r.cache_write_tokens,
    cost: r.cost === null ? null : round(r.cost, 9), cost_source: r.cost_source, price_id: r.price_id, timestamp: iso(r.ts)!,
  }
}

const CURSOR = /^(\d{1,15})_(\d{1,15})$/

/**
 * The priced usage rows behind every figure, newest first (by time, then by seq), paged with
 * a `(ts, seq)` cursor. Each query walks one index backwards — an agent's `(agent_id, ts)`,
 * or a project's `(project_id, ts)`; over several projects, each project's first page is
 * read that way and the pages are merged.
 */
export function listCostEvents(q: z.output<typeof costEventListQuery>, scope: Scope) {
  const { sqlite } = useDatabase()
  let cursor: { ts: number, seq: number } | undefined
  if (q.cursor !== undefined) {
    const m = CURSOR.exec(q.cursor)
    if (!m) throw apiError('INVALID_CURSOR', 'cursor is not one this endpoint gave out', { cursor: q.cursor })
    cursor = { ts: Number(m[1]), seq: Number(m[2]) }
  }
  const params: Params = { limit: q.limit + 1 }
  const where: string[] = []
  const eq = (column: string, value: string | undefined) => {
    if (value === undefined) return
    where.push(`${column} = @${column}`)
    params[column] = value
  }
  eq('task_id', q.task_id)
  eq('model', q.model)
  eq('cost_source', q.cost_source)
  if (q.since !== undefined) {
    where.push('ts >= @since')
    params.since = q.since
  }
  if (q.until !== undefined) {
    where.push('ts < @until')
    params.until = q.until
  }
  if (cursor) {
    where.push('(ts, seq) < (@cursorTs, @cursorSeq)')
    params.cursorTs = cursor.ts
    params.cursorSeq = cursor.seq
  }
  const order = ' ORDER BY ts DESC, seq DESC LIMIT @limit'
  let rows: CostEventDbRow[]
  if (q.agent_id !== undefined) {
    const scoped = [...where, 'agent_id = @agentId', ...scopeSql('project_id', scope, params)]
    params.agentId = q.agent_id
    if (q.project_id !== undefined) {
      scoped.push('project_id = @projectId')
      params.projectId = q.project_id
    }
    rows = prepared(sqlite, `SELECT ${EVENT_COLUMNS} FROM cost_events WHERE ${scoped.join(' AND ')}${order}`).all(params) as CostEventDbRow[]
  }
  else {
    const projects = q.project_id !== undefined
      ? [q.project_id]
      : scope ?? (prepared(sqlite, 'SELECT DISTINCT project_id FROM cost_monthly').all() as { project_id: string }[]).map(r => r.project_id)
    const st = prepared(sqlite, `SELECT ${EVENT_COLUMNS} FROM cost_events WHERE ${['project_id = @projectId', ...where].join(' AND ')}${order}`)
    rows = projects.flatMap(projectId => st.all({ ...params, projectId }) as CostEventDbRow[])
      .sort((a, b) => b.ts - a.ts || b.seq - a.seq)
      .slice(0, q.limit + 1)
  }
  const hasMore = rows.length > q.limit
  const page = hasMore ? rows.slice(0, q.limit) : rows
  const last = page.at(-1)
  return { events: page.map(eventView), has_more: hasMore, next_cursor: hasMore && last ? `${last.ts}_${last.seq}` : null }
}

/** The stored, priced usage of one event (for replayed realtime `cost_update`s). */
export function costOfEvent(sqlite: Sqlite, eventId: string): { cost: number | null, cost_source: string, price_id: number | null, provider: string | null } | undefined {
  return prepared(sqlite, 'SELECT cost, cost_source, price_id, provider FROM cost_events WHERE event_id = ?').get(eventId) as
    { cost: number | null, cost_source: string, price_id: number | null, provider: string | null } | undefined
}
