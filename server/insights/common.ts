/**
 * Shared pieces of the insight read models: scope filters over the rollup tables, the
 * reference time, and the small statistics every figure is built from (kept pure and
 * unit-tested, so a reader can redo each number by hand).
 */
import type { Statement } from 'better-sqlite3'
import type { Scope } from '../utils/access'
import { type Sqlite, useDatabase } from '../utils/db'
import { round } from '../utils/values'
import { ACTIVITY, catchUpInsights } from './rollups'

const statements = new WeakMap<Sqlite, Map<string, Statement>>()

/**
 * A prepared statement for `sql`, prepared once per database: preparing on every request
 * cost more than most of these queries. The SQL texts are a fixed set (a few scope forms each).
 */
export function stmt(sql: string): Statement {
  const { sqlite } = useDatabase()
  let cache = statements.get(sqlite)
  if (!cache) statements.set(sqlite, cache = new Map())
  let st = cache.get(sql)
  if (!st) cache.set(sql, st = sqlite.prepare(sql))
  return st
}

/** z for a two-sided 80% interval. */
export const Z80 = 1.2816

/** `project_id IN scope` (or `= project`) for a rollup column, with its parameters. */
export function projectFilter(column: string, projectId: string | undefined, scope: Scope, params: Record<string, unknown>): string {
  if (projectId !== undefined) {
    params.project = projectId
    return `${column} = @project`
  }
  if (scope === null) return '1'
  params.scope = JSON.stringify(scope)
  return `${column} IN (SELECT value FROM json_each(@scope))`
}

/**
 * Where per-agent, per-label counters are read: the all-project totals when the filter is
 * `1` (every project), so an admin's view reads agents × labels rows; otherwise the per-project
 * table, filtered by its leading project_id.
 */
export function labelTable(filter: string): string {
  return filter === '1' ? 'insight_agent_label_totals' : 'insight_agent_labels'
}

/** Brings the rollups up to date with the log (bounded), and says how far behind they still are. */
export function freshness(): { events_behind: number } {
  return catchUpInsights()
}

/**
 * The time figures are judged at: `asOf` when given, else the latest work event (task,
 * blocker or message) of the projects in question, so replayed or historical data is read at
 * its own time rather than months later; now when there is none.
 */
export function referenceTime(asOf: number | undefined, projectId: string | undefined, scope: Scope): number {
  if (asOf !== undefined) return asOf
  let row: { t: number | null }
  if (projectId !== undefined) row = stmt(`SELECT value AS t FROM insight_state WHERE name = ?`).get(`${ACTIVITY}${projectId}`) as { t: number | null } ?? { t: null }
  else if (scope === null) row = stmt(`SELECT max(value) AS t FROM insight_state WHERE name >= @a AND name < @b`).get({ a: ACTIVITY, b: `${ACTIVITY}\uffff` }) as { t: number | null }
  else row = stmt(`SELECT max(value) AS t FROM insight_state WHERE name IN (SELECT @p || value FROM json_each(@scope))`).get({ p: ACTIVITY, scope: JSON.stringify(scope) }) as { t: number | null }
  return row?.t ?? Date.now()
}

/** Share with a guard for an empty denominator. */
export function rate(num: number, den: number, digits = 4): number | null {
  return den > 0 ? round(num / den, digits) : null
}

/** Wilson score interval of a proportion (80% unless `z` says otherwise). */
export function wilson(successes: number, n: number, z = Z80): { low: number, high: number } | null {
  if (n <= 0) return null
  const p = successes / n
  const z2 = z * z
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = (z * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))) / (1 + z2 / n)
  return { low: round(Math.max(0, centre - half), 4), high: round(Math.min(1, centre + half), 4) }
}

/** Laplace-smoothed proportion (s + 1) ÷ (n + 2): ½ with no data, the raw rate with much. */
export function smoothed(successes: number, n: number): number {
  return round((successes + 1) / (n + 2), 4)
}

/** How much a figure from `n` observations can be trusted: n ÷ (n + 4) (4 observations → 0.5). */
export function sampleConfidence(n: number): number {
  return round(n / (n + 4), 4)
}

export type EstimationCounters = { est_n: number, est_sum: number, act_sum: number, ape_sum: number }

/**
 * Estimation accuracy of finished tasks with an estimate: the actual ÷ estimated ratio of the
 * sums, the mean absolute percentage error (MAPE) of the tasks, and accuracy = max(0, 1 − MAPE).
 */
export function estimation(c: EstimationCounters) {
  const mape = c.est_n > 0 ? c.ape_sum / c.est_n : null
  return {
    tasks_measured: c.est_n,
    estimated_hours: round(c.est_sum, 3),
    actual_hours: round(c.act_sum, 3),
    estimate_ratio: c.est_sum > 0 ? round(c.act_sum / c.est_sum, 4) : null,
    mean_absolute_percentage_error: mape === null ? null : round(mape, 4),
    accuracy: mape === null ? null : round(Math.max(0, 1 - mape), 4),
  }
}

export const ESTIMATION_METHOD = 'Finished tasks with an estimate: actual hours = completed_at − started_at; estimate_ratio = Σactual ÷ Σestimate; '
  + 'MAPE = mean of |actual − estimate| ÷ estimate; accuracy = max(0, 1 − MAPE).'

/** Least-squares slope of y over x = 0, 1, 2, … (null with fewer than two points). */
export function slope(ys: number[]): number | null {
  const n = ys.length
  if (n < 2) return null
  const mx = (n - 1) / 2
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  })
  return round(num / den, 4)
}

export const hours = (ms: number) => round(ms / 3_600_000, 3)
