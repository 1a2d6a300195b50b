/**
 * Budgets: a spending limit for a project, an agent or a model (within a project) per UTC
 * day, ISO week, month or in total, with a warning threshold. Spend is read from the cost
 * rollups. When stored usage takes a budget's period past a threshold, an `alert.raised`
 * (`budget_warning` / `budget_exceeded`) goes through the ingest path, once per period per
 * threshold (`budget_crossings`); a `pause` budget also sends `pause_processing` through the
 * command lifecycle to the agents concerned, when the period is the current one.
 *
 * Forecast: at the burn rate (see costs.ts), the limit is reached after
 * (limit − spent) / burn-per-hour hours; `projected_spend` is spent + burn × hours left.
 */
import type { z } from 'zod'
import type { BudgetView, budgetBody, budgetUpdateBody } from '../../shared/costs'
import type { RawEvent } from '../../shared/events'
import { forwardCommandToMarcus } from '../marcus/mcp'
import { type Principal, canUseProject } from './auth'
import { type Scope, inScope } from './access'
import { issueAgentCommand } from './commands'
import { useConfig } from './config'
import { aggregateCosts, costBurnRate, type CostFilter, figuresOf, costPeriodBounds } from './costs'
import { patternMatches } from './costs-prices'
import { DAY_MS, HOUR_MS } from './costs-projection'
import { type Sqlite, prepared, useDatabase } from './db'
import { apiError } from './errors'
import type { StoredEvent } from './event-bus'
import { iso, newId } from './ids'
import { ingest } from './ingest'
import { round } from './values'

type BudgetRow = {
  id: string
  project_id: string
  scope: 'project' | 'agent' | 'model'
  scope_id: string
  period: 'day' | 'week' | 'month' | 'total'
  limit_usd: number
  warning_ratio: number
  action: 'alert' | 'pause'
  created_at: number
  name: string | null
  created_by: string | null
  updated_at: number
}

type CrossingRow = { threshold: 'warning' | 'limit', crossed_at: number, paused_agents: string | null }

const BUDGET_COLUMNS = 'id, project_id, scope, scope_id, period, limit_usd, warning_ratio, action, created_at, name, created_by, updated_at'
/** The end of a `total` budget's period: far enough, and still a date. */
const NEVER = Date.UTC(9000, 0, 1)

function period(b: BudgetRow, at: number): { start: number, end: number } {
  return b.period === 'total' ? { start: 0, end: NEVER } : costPeriodBounds(b.period, at)
}

/** The models a model budget's name or glob stands for, among those with usage in the project. */
function budgetFilter(sqlite: Sqlite, b: BudgetRow): CostFilter {
  if (b.scope === 'agent') return { scope: null, projectId: b.project_id, agentId: b.scope_id }
  if (b.scope === 'model') {
    const models = (prepared(sqlite, 'SELECT DISTINCT model FROM cost_model_daily WHERE project_id = ?').all(b.project_id) as { model: string }[])
      .map(r => r.model).filter(m => patternMatches(b.scope_id, m))
    return { scope: null, projectId: b.project_id, models }
  }
  return { scope: null, projectId: b.project_id }
}

/** Spend of the budget in `[from, through]`, at hour granularity. */
function spendOf(sqlite: Sqlite, f: CostFilter, from: number, through: number): number {
  const to = Math.min(Math.floor(through / HOUR_MS) * HOUR_MS + HOUR_MS, Math.floor(NEVER / DAY_MS) * DAY_MS)
  return figuresOf(aggregateCosts(sqlite, f, Math.floor(from / HOUR_MS) * HOUR_MS, to)[0]).cost
}

function crossingsOf(sqlite: Sqlite, budgetId: string, periodStart: number): CrossingRow[] {
  return prepared(sqlite, 'SELECT threshold, crossed_at, paused_agents FROM budget_crossings WHERE budget_id = ? AND period_start = ?')
    .all(budgetId, periodStart) as CrossingRow[]
}

export function budgetView(sqlite: Sqlite, b: BudgetRow, asOf: number, burnHours: number): BudgetView {
  const p = period(b, asOf)
  const f = budgetFilter(sqlite, b)
  const spent = spendOf(sqlite, f, p.start, asOf)
  const burn = costBurnRate(sqlite, f, asOf, burnHours)
  const warningUsd = b.limit_usd * b.warning_ratio
  const crossings = crossingsOf(sqlite, b.id, p.start)
  const crossed = (t: 'warning' | 'limit') => crossings.find(c => c.threshold === t)
  const exceeded = spent >= b.limit_usd
  let exhaustedAt: number | null = null
  let hoursToLimit: number | null = null
  if (exceeded) {
    exhaustedAt = crossed('limit')?.crossed_at ?? asOf
    hoursToLimit = 0
  }
  else if (burn.per_hour > 0) {
    hoursToLimit = (b.limit_usd - spent) / burn.per_hour
    exhaustedAt = Math.round(asOf + hoursToLimit * HOUR_MS)
  }
  const projected = p.end === NEVER ? null : spent + burn.per_hour * Math.max(0, p.end - asOf) / HOUR_MS
  return {
    id: b.id, name: b.name, project_id: b.project_id, scope: b.scope, scope_id: b.scope_id, period: b.period, limit_usd: b.limit_usd,
    warning_ratio: b.warning_ratio, warning_usd: round(warningUsd, 6), action: b.action, created_by: b.created_by,
    created_at: iso(b.created_at)!, updated_at: iso(b.updated_at || b.created_at)!,
    status: {
      period_start: p.end === NEVER ? null : iso(p.start), period_end: p.end === NEVER ? null : iso(p.end),
      spent: round(spent, 6), remaining: round(Math.max(0, b.limit_usd - spent), 6), ratio: round(spent / b.limit_usd, 6),
      state: exceeded ? 'exceeded' : spent >= warningUsd ? 'warning' : 'ok',
      warning_crossed_at: iso(crossed('warning')?.crossed_at), limit_crossed_at: iso(crossed('limit')?.crossed_at),
      paused_agents: JSON.parse(crossed('limit')?.paused_agents ?? '[]') as string[],
      burn_rate_per_hour: burn.per_hour,
      forecast: {
        exhausted_at: iso(exhaustedAt), hours_to_limit: hoursToLimit === null ? null : round(hoursToLimit, 4),
        projected_spend: projected === null ? null : round(projected, 6),
        will_exceed_in_period: exceeded || (exhaustedAt !== null && exhaustedAt < p.end),
      },
    },
  }
}

function getBudgetRow(sqlite: Sqlite, id: string): BudgetRow | undefined {
  return prepared(sqlite, `SELECT ${BUDGET_COLUMNS} FROM budgets WHERE id = ?`).get(id) as BudgetRow | undefined
}

function visibleBudget(sqlite: Sqlite, id: string, scope: Scope): BudgetRow {
  const row = getBudgetRow(sqlite, id)
  if (!row || !inScope(scope, row.project_id)) throw apiError('NOT_FOUND', `Budget with ID '${id}' does not exist`, { budget_id: id })
  return row
}

function assertMayWriteBudget(principal: Principal, projectId: string) {
  if (principal.role !== 'admin' && principal.role !== 'member') {
    throw apiError('FORBIDDEN', `The ${principal.role} role may not change budgets`, { role: principal.role, required: ['admin', 'member'] })
  }
  if (!canUseProject(principal, projectId)) throw apiError('FORBIDDEN', `No access to project '${projectId}'`, { project_id: projectId })
}

export function listBudgets(projectId: string | undefined, scope: Scope, asOf: number, burnHours: number) {
  const { sqlite } = useDatabase()
  const rows = prepared(sqlite, `SELECT ${BUDGET_COLUMNS} FROM budgets WHERE (@project IS NULL OR project_id = @project)
    AND (@scope IS NULL OR project_id IN (SELECT value FROM json_each(@scope))) ORDER BY project_id, created_at, id`)
    .all({ project: projectId ?? null, scope: scope === null ? null : JSON.stringify(scope) }) as BudgetRow[]
  return { budgets: rows.map(r => budgetView(sqlite, r, asOf, burnHours)), as_of: iso(asOf)! }
}

/** The budgets that concern an agent (its own, and those of the models it used and of its projects). */
export function budgetsForAgent(agentId: string, projects: string[], asOf: number, burnHours: number): BudgetView[] {
  if (!projects.length) return []
  const { sqlite } = useDatabase()
  const rows = prepared(sqlite, `SELECT ${BUDGET_COLUMNS} FROM budgets WHERE project_id IN (SELECT value FROM json_each(@projects))
    AND (scope = 'project' OR (scope = 'agent' AND scope_id = @agent)) ORDER BY project_id, created_at, id`)
    .all({ projects: JSON.stringify(projects), agent: agentId }) as BudgetRow[]
  return rows.map(r => budgetView(sqlite, r, asOf, burnHours))
}

export function getBudget(id: string, scope: Scope, asOf: number, burnHours: number): BudgetView {
  const { sqlite } = useDatabase()
  return budgetView(sqlite, visibleBudget(sqlite, id, scope), asOf, burnHours)
}

export function createBudget(principal: Principal, body: z.output<typeof budgetBody>, now = Date.now()): BudgetView {
  assertMayWriteBudget(principal, body.project_id)
  const scopeId = body.scope === 'project' ? body.scope_id ?? body.project_id : body.scope_id
  if (!scopeId) throw apiError('VALIDATION_FAILED', `Invalid body: scope_id: a ${body.scope} budget names its ${body.scope}`, { issues: [{ path: 'scope_id', message: 'required' }] })
  if (body.scope === 'project' && scopeId !== body.project_id) {
    throw apiError('VALIDATION_FAILED', 'Invalid body: scope_id: a project budget\'s scope_id is its project_id', { issues: [{ path: 'scope_id', message: 'must equal project_id' }] })
  }
  const { sqlite } = useDatabase()
  const id = newId('bud')
  const ratio = body.warning_usd !== undefined ? body.warning_usd / body.limit_usd : body.warning_ratio ?? 0.8
  sqlite.prepare(`INSERT INTO budgets (id, project_id, scope, scope_id, period, limit_usd, warning_ratio, action, created_at, name, created_by, updated_at)
    VALUES (@id, @project, @scope, @scopeId, @period, @limit, @ratio, @action, @now, @name, @by, @now)`).run({
    id, project: body.project_id, scope: body.scope, scopeId, period: body.period, limit: body.limit_usd, ratio, action: body.action,
    now, name: body.name ?? null, by: principal.id,
  })
  const row = getBudgetRow(sqlite, id)!
  checkBudget(sqlite, row, now, now)
  return budgetView(sqlite, row, now, 24)
}

export function updateBudget(principal: Principal, id: string, body: z.output<typeof budgetUpdateBody>, scope: Scope, now = Date.now()): BudgetView {
  const { sqlite } = useDatabase()
  const before = visibleBudget(sqlite, id, scope)
  assertMayWriteBudget(principal, before.project_id)
  const limit = body.limit_usd ?? before.limit_usd
  const ratio = body.warning_usd !== undefined ? body.warning_usd / limit : body.warning_ratio ?? before.warning_ratio
  if (ratio > 1) throw apiError('VALIDATION_FAILED', 'Invalid body: warning_usd must not exceed limit_usd', { issues: [{ path: 'warning_usd', message: 'exceeds the limit' }] })
  sqlite.prepare(`UPDATE budgets SET name = @name, period = @period, limit_usd = @limit, warning_ratio = @ratio, action = @action, updated_at = @now WHERE id = @id`).run({
    id, name: body.name ?? before.name, period: body.period ?? before.period, limit, ratio, action: body.action ?? before.action, now,
  })
  // New thresholds: a crossing of the old ones says nothing about the new ones.
  if (limit !== before.limit_usd || ratio !== before.warning_ratio || (body.period && body.period !== before.period)) {
    sqlite.prepare('DELETE FROM budget_crossings WHERE budget_id = ?').run(id)
  }
  const row = getBudgetRow(sqlite, id)!
  checkBudget(sqlite, row, now, now)
  return budgetView(sqlite, row, now, 24)
}

export function deleteBudget(principal: Principal, id: string, scope: Scope) {
  const { sqlite } = useDatabase()
  const before = visibleBudget(sqlite, id, scope)
  assertMayWriteBudget(principal, before.project_id)
  sqlite.transaction(() => {
    sqlite.prepare('DELETE FROM budgets WHERE id = ?').run(id)
    sqlite.prepare('DELETE FROM budget_crossings WHERE budget_id = ?').run(id)
  })()
  return { id, deleted: true as const, projectId: before.project_id }
}

// ---------------------------------------------------------------------------------------
// Crossing thresholds

/** The principal budget actions act as (its id names the budget in the command's `issued_by`). */
function budgetPrincipal(budgetId: string): Principal {
  return { id: `budget:${budgetId}`, kind: 'api_key', role: 'admin', projects: '*' }
}

/** Agents a `pause` budget stops: the agent; the agents that used the model; every agent of the project. */
function agentsConcerned(sqlite: Sqlite, b: BudgetRow, f: CostFilter, start: number): string[] {
  if (b.scope === 'agent') {
    return (prepared(sqlite, 'SELECT id FROM agents WHERE id = ? AND paused = 0').all(b.scope_id) as { id: string }[]).map(r => r.id)
  }
  const users = b.scope === 'model'
    ? `SELECT DISTINCT agent_id FROM cost_daily WHERE project_id = @project AND day >= @start AND model IN (SELECT value FROM json_each(@models))`
    : `SELECT DISTINCT agent_id FROM cost_daily WHERE project_id = @project AND day >= @start
       UNION SELECT id FROM agents WHERE project_id = @project AND kind = 'agent'`
  return (prepared(sqlite, `SELECT id FROM agents WHERE paused = 0 AND id IN (${users}) ORDER BY id`)
    .all({ project: b.project_id, start: Math.floor(start / DAY_MS) * DAY_MS, models: JSON.stringify(f.models ?? []) }) as { id: string }[]).map(r => r.id)
}

/**
 * Raises what the budget's period containing `at` has crossed and not yet reported; with
 * `pause`, pauses the agents concerned when that period is current at `now`.
 * Returns the ids of the alerts raised.
 */
export function checkBudget(sqlite: Sqlite, b: BudgetRow, at: number, now: number): string[] {
  const p = period(b, at)
  const f = budgetFilter(sqlite, b)
  const spent = spendOf(sqlite, f, p.start, p.end === NEVER ? NEVER - DAY_MS : p.end - 1)
  const warningUsd = b.limit_usd * b.warning_ratio
  const threshold = spent >= b.limit_usd ? 'limit' : spent >= warningUsd ? 'warning' : null
  if (!threshold) return []
  const known = new Set(crossingsOf(sqlite, b.id, p.start).map(c => c.threshold))
  if (known.has(threshold)) return []
  const alertId = `budget_${b.id}_${p.start}_${threshold}`
  const insert = prepared(sqlite, `INSERT OR IGNORE INTO budget_crossings (budget_id, period_start, threshold, crossed_at, spent, alert_id, paused_agents)
    VALUES (?, ?, ?, ?, ?, ?, ?)`)
  const crossedAt = Math.min(at, now)
  if (insert.run(b.id, p.start, threshold, crossedAt, spent, alertId, null).changes === 0) return []
  // Straight past the limit: the warning is implied, not raised on its own.
  if (threshold === 'limit' && !known.has('warning')) insert.run(b.id, p.start, 'warning', crossedAt, spent, alertId, null)

  const label = b.name ?? `${b.scope} ${b.scope_id}`
  const periodText = b.period === 'total' ? 'in total' : `this ${b.period} (from ${iso(p.start)!.slice(0, 10)})`
  const paused: string[] = []
  if (threshold === 'limit' && b.action === 'pause' && p.end > now) {
    const reason = `budget '${label}' exceeded: $${round(spent, 2)} of $${b.limit_usd} ${periodText}`
    for (const agentId of agentsConcerned(sqlite, b, f, p.start)) {
      try {
        const issued = issueAgentCommand(budgetPrincipal(b.id), {
          agent_id: agentId, command: 'pause_processing', reason, parameters: { budget_id: b.id },
          expires_at: now + useConfig().commandTtlMs,
        })
        forwardCommandToMarcus({ ...issued, parameters: { budget_id: b.id, reason } })
        paused.push(agentId)
      }
      catch (error) {
        console.error(`[seneca] budget ${b.id} could not pause ${agentId}`, error)
      }
    }
    prepared(sqlite, 'UPDATE budget_crossings SET paused_agents = ? WHERE budget_id = ? AND period_start = ? AND threshold = ?')
      .run(JSON.stringify(paused), b.id, p.start, 'limit')
  }
  const event: RawEvent = {
    kind: 'alert.raised', id: alertId, alert_id: alertId, project_id: b.project_id, ts: crossedAt,
    severity: threshold === 'limit' ? 'critical' : 'warning', type: threshold === 'limit' ? 'budget_exceeded' : 'budget_warning',
    subject_id: b.scope === 'agent' ? b.scope_id : b.id,
    message: threshold === 'limit'
      ? `Budget '${label}' exceeded: $${round(spent, 2)} of $${b.limit_usd} ${periodText}${paused.length ? `; paused ${paused.join(', ')}` : ''}`
      : `Budget '${label}' at ${Math.round((spent / b.limit_usd) * 100)}%: $${round(spent, 2)} of $${b.limit_usd} ${periodText}`,
    details: {
      budget_id: b.id, scope: b.scope, scope_id: b.scope_id, period: b.period, period_start: iso(p.start), spent: round(spent, 6),
      limit_usd: b.limit_usd, warning_usd: round(warningUsd, 6), threshold, action: b.action, paused_agents: paused,
    },
  }
  ingest([event], 'budgets')
  return [alertId]
}

/**
 * After usage is stored: checks the budgets of the projects it touched, for every budget
 * period the usage falls in. Usage that cannot concern a budget (another agent, another
 * model) does not make it look again.
 */
export function checkBudgetsAfter(events: StoredEvent[], now = Date.now()): string[] {
  const usage = events.filter(e => e.kind === 'cost.usage')
  if (!usage.length) return []
  const { sqlite } = useDatabase()
  const projects = [...new Set(usage.map(e => e.projectId))]
  const budgets = prepared(sqlite, `SELECT ${BUDGET_COLUMNS} FROM budgets WHERE project_id IN (SELECT value FROM json_each(?))`)
    .all(JSON.stringify(projects)) as BudgetRow[]
  const raised: string[] = []
  // A batch has few distinct models: match each against each model budget once.
  const matches = new Map<string, boolean>()
  const modelMatches = (pattern: string, model: unknown) => {
    if (typeof model !== 'string') return false
    const key = `${pattern}\u0000${model}`
    let hit = matches.get(key)
    if (hit === undefined) matches.set(key, hit = patternMatches(pattern, model))
    return hit
  }
  for (const b of budgets) {
    const relevant = usage.filter(e => e.projectId === b.project_id
      && (b.scope === 'project'
        || (b.scope === 'agent' && e.payload.agent_id === b.scope_id)
        || (b.scope === 'model' && modelMatches(b.scope_id, e.payload.model))))
    // The latest usage of each period it falls in.
    const periods = new Map<number, number>()
    for (const e of relevant) {
      const start = period(b, e.ts).start
      periods.set(start, Math.max(periods.get(start) ?? 0, e.ts))
    }
    for (const at of periods.values()) raised.push(...checkBudget(sqlite, b, at, now))
  }
  return raised
}
