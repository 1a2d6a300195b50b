/**
 * The model price table through the API, and re-costing. Prices are operator configuration
 * (like API keys), not facts: they are written here, and what they change — the estimated
 * cost of stored usage — is rewritten in SQL: for each (project, model, provider) whose price
 * candidates changed, one UPDATE per interval of the price timeline, then that combination's
 * rollup rows are rebuilt from its usage rows, in one transaction per combination.
 * Reported costs are never touched.
 */
import type { z } from 'zod'
import type { PriceBody, PriceView, priceListQuery, priceResolveQuery, priceUpdateBody } from '../../shared/costs'
import { type Principal, canUseProject } from './auth'
import { type Scope, inScope } from './access'
import { BUILTIN_PRICES, candidatePrices, comparePrices, dayMs, patternMatches, priceAt, priceTimeline, type PriceRow } from './costs-prices'
import { DAY_MS, FIGURE_ADD, FIGURE_COLUMNS, HOUR_MS, type PriceDbRow as PricedRow, priceBook, priceTableChanged, QUARTER_MS } from './costs-projection'
import { type Sqlite, prepared, useDatabase } from './db'
import { retainedFrom } from './maintenance'
import { apiError } from './errors'
import { iso } from './ids'

/** A `model_prices` row with what the API shows besides the price. */
type PriceDbRow = PricedRow & {
  note: string | null
  created_by: string | null
  updated_at: number
}

const PRICE_COLUMNS = 'id, project_id, provider, model_pattern, input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok, effective_from, builtin, note, created_by, updated_at'

export function priceView(r: PriceDbRow): PriceView {
  return {
    id: r.id, source: r.builtin ? 'builtin' : r.project_id === null ? 'custom' : 'project', project_id: r.project_id, provider: r.provider,
    model_pattern: r.model_pattern, input_per_mtok: r.input_per_mtok, output_per_mtok: r.output_per_mtok,
    cache_read_per_mtok: r.cache_read_per_mtok, cache_write_per_mtok: r.cache_write_per_mtok, effective_from: iso(r.effective_from)!,
    note: r.note, created_by: r.created_by, updated_at: r.updated_at ? iso(r.updated_at) : null,
  }
}

function getPriceRow(sqlite: Sqlite, id: number): PriceDbRow | undefined {
  return prepared(sqlite, `SELECT ${PRICE_COLUMNS} FROM model_prices WHERE id = ?`).get(id) as PriceDbRow | undefined
}

// ---------------------------------------------------------------------------------------
// Re-costing

export type Recosted = { events: number, models: number }

type Key = { project_id: string, model: string, provider: string }

/**
 * Prices again every stored (project, model, provider) that `affected` selects, with the
 * price table as it is now.
 */
export function recost(sqlite: Sqlite, affected: (key: Key) => boolean): Recosted {
  const keys = (prepared(sqlite, 'SELECT DISTINCT project_id, model, provider FROM cost_daily').all() as Key[]).filter(affected)
  const book = priceBook(sqlite)
  let events = 0
  for (const key of keys) events += recostKey(sqlite, key, book.rows)
  return { events, models: keys.length }
}

const ROLLUP_SELECT = `count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), coalesce(sum(cost), 0),
  coalesce(sum(CASE WHEN cost_source = 'reported' THEN cost END), 0), sum(cost_source = 'unpriced')`
const ROLLUP_SUM = `sum(events), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(cost), sum(reported_cost),
  sum(unpriced_events)`
/** ROLLUP_SELECT and ROLLUP_SUM with every figure multiplied by a sign. */
const signed = (select: string, sign: 1 | -1) => select.replace(/(count|sum)\(/g, `${sign} * $1(`)
const KEY = 'project_id = @project AND model = @model AND provider IS @provider'
const MONTH_OF_TS = `CAST(strftime('%s', ts / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000`
const MONTH_OF_DAY = `CAST(strftime('%s', day / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000`

function recostKey(sqlite: Sqlite, key: Key, rows: readonly PriceRow[]): number {
  const provider = key.provider === '' ? null : key.provider
  const timeline = priceTimeline(candidatePrices(rows, key.project_id, provider, key.model))
  // Retention deletes cost events of whole months and keeps their rollups: rebuild only what is still there.
  const kept = retainedFrom('cost_events', sqlite)
  const args = { project: key.project_id, model: key.model, provider, kept }
  const rollupArgs = { project: key.project_id, model: key.model, provider: key.provider, kept }
  const rollupKey = 'project_id = @project AND model = @model AND provider = @provider'
  // The rollups per agent and task (every model), per hour and model (every project) and per quarter of a
  // day also hold other keys' usage, so they are not rebuilt from this key's rows: its share is taken out
  // before it is priced again and put back after — over the very usage rows the UPDATEs below may change,
  // or over the hourly rows rebuilt from them.
  const share = (sign: 1 | -1) => {
    for (const [table, column, period] of [['cost_agent_task_daily', 'day', `(ts / ${DAY_MS}) * ${DAY_MS}`], ['cost_agent_task_monthly', 'month', MONTH_OF_TS]] as const) {
      prepared(sqlite, `INSERT INTO ${table} (project_id, agent_id, task_id, ${column}, ${FIGURE_COLUMNS})
        SELECT project_id, agent_id, task_id, ${period}, ${signed(ROLLUP_SELECT, sign)}
        FROM cost_events WHERE ${KEY} AND agent_id IS NOT NULL AND task_id IS NOT NULL GROUP BY 2, 3, 4
        ON CONFLICT(project_id, agent_id, task_id, ${column}) DO UPDATE SET ${FIGURE_ADD}`).run(args)
    }
    prepared(sqlite, `INSERT INTO cost_hour_model (hour, model, provider, ${FIGURE_COLUMNS})
      SELECT hour, model, provider, ${signed(ROLLUP_SUM, sign)} FROM cost_model_hourly WHERE ${rollupKey} AND hour >= @kept GROUP BY 1
      ON CONFLICT(hour, model, provider) DO UPDATE SET ${FIGURE_ADD}`).run(rollupArgs)
    prepared(sqlite, `INSERT INTO cost_model_quarterly (project_id, quarter, model, provider, ${FIGURE_COLUMNS})
      SELECT project_id, (hour / ${QUARTER_MS}) * ${QUARTER_MS}, model, provider, ${signed(ROLLUP_SUM, sign)} FROM cost_model_hourly
      WHERE ${rollupKey} AND hour >= @kept GROUP BY 2
      ON CONFLICT(project_id, quarter, model, provider) DO UPDATE SET ${FIGURE_ADD}`).run(rollupArgs)
    prepared(sqlite, `INSERT INTO cost_agent_quarterly (project_id, quarter, agent_id, ${FIGURE_COLUMNS})
      SELECT project_id, (hour / ${QUARTER_MS}) * ${QUARTER_MS}, agent_id, ${signed(ROLLUP_SUM, sign)} FROM cost_hourly
      WHERE ${rollupKey} AND hour >= @kept GROUP BY 2, 3
      ON CONFLICT(project_id, quarter, agent_id) DO UPDATE SET ${FIGURE_ADD}`).run(rollupArgs)
  }
  const run = sqlite.transaction(() => {
    share(-1)
    let changed = 0
    for (const span of timeline) {
      const range = { ...args, from: span.from, to: span.to }
      if (span.price) {
        const p = span.price
        changed += prepared(sqlite, `UPDATE cost_events SET cost_source = 'estimated', price_id = @priceId,
          cost = (input_tokens * @input + output_tokens * @output + cache_read_tokens * @cacheRead + cache_write_tokens * @cacheWrite) / 1e6
          WHERE ${KEY} AND ts >= @from AND ts < @to AND cost_source <> 'reported'`).run({
          ...range, priceId: p.id, input: p.inputPerMtok, output: p.outputPerMtok,
          cacheRead: p.cacheReadPerMtok ?? p.inputPerMtok, cacheWrite: p.cacheWritePerMtok ?? p.inputPerMtok,
        }).changes
      }
      else {
        changed += prepared(sqlite, `UPDATE cost_events SET cost_source = 'unpriced', price_id = NULL, cost = NULL
          WHERE ${KEY} AND ts >= @from AND ts < @to AND cost_source <> 'reported'`).run(range).changes
      }
    }
    prepared(sqlite, `DELETE FROM cost_hourly WHERE ${rollupKey} AND hour >= @kept`).run(rollupArgs)
    prepared(sqlite, `DELETE FROM cost_daily WHERE ${rollupKey} AND day >= @kept`).run(rollupArgs)
    prepared(sqlite, `DELETE FROM cost_monthly WHERE ${rollupKey} AND month >= @kept`).run(rollupArgs)
    prepared(sqlite, `DELETE FROM cost_model_hourly WHERE ${rollupKey} AND hour >= @kept`).run(rollupArgs)
    prepared(sqlite, `DELETE FROM cost_model_daily WHERE ${rollupKey} AND day >= @kept`).run(rollupArgs)
    prepared(sqlite, `DELETE FROM cost_task_daily WHERE ${rollupKey} AND day >= @kept`).run(rollupArgs)
    prepared(sqlite, `DELETE FROM cost_model_monthly WHERE ${rollupKey} AND month >= @kept`).run(rollupArgs)
    prepared(sqlite, `INSERT INTO cost_hourly (project_id, hour, agent_id, model, provider, ${FIGURE_COLUMNS})
      SELECT project_id, (ts / ${HOUR_MS}) * ${HOUR_MS}, coalesce(agent_id, ''), model, coalesce(provider, ''), ${ROLLUP_SELECT}
      FROM cost_events WHERE ${KEY} AND ts >= @kept GROUP BY 2, 3`).run(args)
    prepared(sqlite, `INSERT INTO cost_daily (project_id, day, agent_id, model, provider, ${FIGURE_COLUMNS})
      SELECT project_id, (ts / ${DAY_MS}) * ${DAY_MS}, coalesce(agent_id, ''), model, coalesce(provider, ''), ${ROLLUP_SELECT}
      FROM cost_events WHERE ${KEY} AND ts >= @kept GROUP BY 2, 3`).run(args)
    prepared(sqlite, `INSERT INTO cost_monthly (project_id, month, agent_id, model, provider, ${FIGURE_COLUMNS})
      SELECT project_id, ${MONTH_OF_TS}, coalesce(agent_id, ''), model, coalesce(provider, ''), ${ROLLUP_SELECT}
      FROM cost_events WHERE ${KEY} AND ts >= @kept GROUP BY 2, 3`).run(args)
    prepared(sqlite, `INSERT INTO cost_model_hourly (project_id, hour, model, provider, ${FIGURE_COLUMNS})
      SELECT project_id, (ts / ${HOUR_MS}) * ${HOUR_MS}, model, coalesce(provider, ''), ${ROLLUP_SELECT}
      FROM cost_events WHERE ${KEY} AND ts >= @kept GROUP BY 2`).run(args)
    prepared(sqlite, `INSERT INTO cost_model_daily (project_id, day, model, provider, ${FIGURE_COLUMNS})
      SELECT project_id, (ts / ${DAY_MS}) * ${DAY_MS}, model, coalesce(provider, ''), ${ROLLUP_SELECT}
      FROM cost_events WHERE ${KEY} AND ts >= @kept GROUP BY 2`).run(args)
    prepared(sqlite, `INSERT INTO cost_model_monthly (project_id, month, model, provider, ${FIGURE_COLUMNS})
      SELECT project_id, ${MONTH_OF_TS}, model, coalesce(provider, ''), ${ROLLUP_SELECT}
      FROM cost_events WHERE ${KEY} AND ts >= @kept GROUP BY 2`).run(args)
    // The rollups without the model (per agent) or without the project (per day and model) are sums over
    // other keys too: their periods this key has usage in are summed again from the rebuilt rollups.
    for (const [table, source, column] of [['cost_agent_hourly', 'cost_hourly', 'hour'], ['cost_agent_daily', 'cost_daily', 'day'], ['cost_agent_monthly', 'cost_monthly', 'month']] as const) {
      const periods = `SELECT ${column} FROM ${source} WHERE ${rollupKey} AND ${column} >= @kept`
      prepared(sqlite, `DELETE FROM ${table} WHERE project_id = @project AND ${column} IN (${periods})`).run(rollupArgs)
      prepared(sqlite, `INSERT INTO ${table} (project_id, ${column}, agent_id, ${FIGURE_COLUMNS})
        SELECT project_id, ${column}, agent_id, ${ROLLUP_SUM} FROM ${source} WHERE project_id = @project AND ${column} IN (${periods}) GROUP BY 2, 3`).run(rollupArgs)
    }
    prepared(sqlite, `DELETE FROM cost_day_model WHERE model = @model AND provider = @provider AND day >= @kept`).run(rollupArgs)
    prepared(sqlite, `INSERT INTO cost_day_model (day, model, provider, ${FIGURE_COLUMNS})
      SELECT day, model, provider, ${ROLLUP_SUM} FROM cost_model_daily WHERE model = @model AND provider = @provider AND day >= @kept GROUP BY 1`).run(rollupArgs)
    prepared(sqlite, `INSERT INTO cost_task_daily (project_id, task_id, day, model, provider, ${FIGURE_COLUMNS})
      SELECT project_id, task_id, (ts / ${DAY_MS}) * ${DAY_MS}, model, coalesce(provider, ''), ${ROLLUP_SELECT}
      FROM cost_events WHERE ${KEY} AND ts >= @kept AND task_id IS NOT NULL GROUP BY 2, 3`).run(args)
    // A task's monthly row holds every model: rebuilt from the (already rebuilt) daily rows of the tasks this model touched.
    const tasks = `SELECT DISTINCT task_id FROM cost_task_daily WHERE ${rollupKey}`
    prepared(sqlite, `DELETE FROM cost_task_monthly WHERE project_id = @project AND task_id IN (${tasks})`).run(rollupArgs)
    prepared(sqlite, `INSERT INTO cost_task_monthly (project_id, task_id, month, ${FIGURE_COLUMNS})
      SELECT project_id, task_id, ${MONTH_OF_DAY}, ${ROLLUP_SUM}
      FROM cost_task_daily WHERE project_id = @project AND task_id IN (${tasks}) GROUP BY 2, 3`).run(rollupArgs)
    share(1)
    return changed
  })
  return run.immediate()
}

/** Re-costs what a price row (before and/or after a change) can apply to. */
function recostFor(sqlite: Sqlite, ...prices: (PriceDbRow | undefined)[]): Recosted {
  const rows = prices.filter((r): r is PriceDbRow => r !== undefined)
  return recost(sqlite, key => rows.some(r => (r.project_id === null || r.project_id === key.project_id)
    && (r.provider === null || r.provider === key.provider || (key.provider === '' && r.model_pattern !== '*'))
    && patternMatches(r.model_pattern, key.model)))
}

/**
 * Keeps the shipped prices in the table in step with the code (added, changed, removed),
 * and re-costs the usage they apply to when anything changed. Run at boot.
 */
export function syncBuiltinPrices(sqlite: Sqlite = useDatabase().sqlite, now = Date.now()): Recosted & { changed: number } {
  const stored = sqlite.prepare(`SELECT ${PRICE_COLUMNS} FROM model_prices WHERE builtin = 1`).all() as PriceDbRow[]
  const keyOf = (pattern: string, provider: string | null, from: number) => `${pattern}\u0000${provider ?? ''}\u0000${from}`
  const byKey = new Map(stored.map(r => [keyOf(r.model_pattern, r.provider, r.effective_from), r]))
  const touched: PriceDbRow[] = []
  const write = sqlite.transaction(() => {
    const seen = new Set<string>()
    for (const b of BUILTIN_PRICES) {
      const from = dayMs(b.from)
      const key = keyOf(b.pattern, b.provider, from)
      seen.add(key)
      const row = byKey.get(key)
      const values = { input: b.input, output: b.output, cacheRead: b.cacheRead, cacheWrite: b.cacheWrite }
      if (row && row.input_per_mtok === b.input && row.output_per_mtok === b.output && row.cache_read_per_mtok === b.cacheRead && row.cache_write_per_mtok === b.cacheWrite) continue
      if (row) {
        sqlite.prepare(`UPDATE model_prices SET input_per_mtok = @input, output_per_mtok = @output, cache_read_per_mtok = @cacheRead,
          cache_write_per_mtok = @cacheWrite, updated_at = @now WHERE id = @id`).run({ ...values, now, id: row.id })
        touched.push(row)
      }
      else {
        const info = sqlite.prepare(`INSERT INTO model_prices (project_id, provider, model_pattern, input_per_mtok, output_per_mtok, cache_read_per_mtok,
          cache_write_per_mtok, effective_from, builtin, note, created_by, created_at, updated_at)
          VALUES (NULL, @provider, @pattern, @input, @output, @cacheRead, @cacheWrite, @from, 1, NULL, 'seneca', @now, @now)`)
          .run({ ...values, provider: b.provider, pattern: b.pattern, from, now })
        touched.push(getPriceRow(sqlite, Number(info.lastInsertRowid))!)
      }
    }
    for (const [key, row] of byKey) {
      if (seen.has(key)) continue
      sqlite.prepare('DELETE FROM model_prices WHERE id = ?').run(row.id)
      touched.push(row)
    }
  })
  write.immediate()
  if (!touched.length) return { changed: 0, events: 0, models: 0 }
  priceTableChanged()
  return { changed: touched.length, ...recostFor(sqlite, ...touched) }
}

// ---------------------------------------------------------------------------------------
// The API

function assertMayWritePrice(principal: Principal, projectId: string | null) {
  if (principal.role !== 'admin' && principal.role !== 'member') {
    throw apiError('FORBIDDEN', `The ${principal.role} role may not change prices`, { role: principal.role, required: ['admin', 'member'] })
  }
  if (projectId === null && principal.role !== 'admin') {
    throw apiError('FORBIDDEN', 'Prices for every project are for admins; give project_id for a project override', { role: principal.role })
  }
  if (projectId !== null && !canUseProject(principal, projectId)) {
    throw apiError('FORBIDDEN', `No access to project '${projectId}'`, { project_id: projectId })
  }
}

/** A price the principal may see: global ones, and overrides of its projects (else 404). */
function visiblePrice(sqlite: Sqlite, id: number, scope: Scope): PriceDbRow {
  const row = getPriceRow(sqlite, id)
  if (!row || (row.project_id !== null && !inScope(scope, row.project_id))) {
    throw apiError('NOT_FOUND', `Price with ID ${id} does not exist`, { price_id: id })
  }
  return row
}

export function listPrices(q: z.output<typeof priceListQuery>, scope: Scope) {
  const { sqlite } = useDatabase()
  const rows = prepared(sqlite, `SELECT ${PRICE_COLUMNS} FROM model_prices WHERE project_id IS NULL OR project_id = @project`)
    .all({ project: q.project_id ?? null }) as PriceDbRow[]
  const sorted = rows.map(r => ({ row: r }))
    .filter(({ row }) => row.project_id === null || inScope(scope, row.project_id))
    // A provider's catch-all (`*` for ollama) is that provider's, not a price of every model name.
    .filter(({ row }) => q.model === undefined || (patternMatches(row.model_pattern, q.model) && !(row.model_pattern === '*' && row.provider !== null)))
    .map(({ row }) => priceView(row))
    .filter(p => q.source === undefined || p.source === q.source)
    .sort((a, b) => a.source.localeCompare(b.source) || a.model_pattern.localeCompare(b.model_pattern) || (a.provider ?? '').localeCompare(b.provider ?? '')
      || a.effective_from.localeCompare(b.effective_from))
  return { prices: sorted }
}

export function createPrice(principal: Principal, body: PriceBody, now = Date.now()) {
  const projectId = body.project_id ?? null
  assertMayWritePrice(principal, projectId)
  const { sqlite } = useDatabase()
  const info = sqlite.prepare(`INSERT INTO model_prices (project_id, provider, model_pattern, input_per_mtok, output_per_mtok, cache_read_per_mtok,
    cache_write_per_mtok, effective_from, builtin, note, created_by, created_at, updated_at)
    VALUES (@projectId, @provider, @pattern, @input, @output, @cacheRead, @cacheWrite, @from, 0, @note, @by, @now, @now)`).run({
    projectId, provider: body.provider?.toLowerCase() ?? null, pattern: body.model_pattern, input: body.input_per_mtok, output: body.output_per_mtok,
    cacheRead: body.cache_read_per_mtok ?? null, cacheWrite: body.cache_write_per_mtok ?? null, from: body.effective_from ?? 0,
    note: body.note ?? null, by: principal.id, now,
  })
  priceTableChanged()
  const row = getPriceRow(sqlite, Number(info.lastInsertRowid))!
  return { price: priceView(row), recosted: recostFor(sqlite, row) }
}

export function updatePrice(principal: Principal, id: number, body: z.output<typeof priceUpdateBody>, scope: Scope, now = Date.now()) {
  const { sqlite } = useDatabase()
  const before = visiblePrice(sqlite, id, scope)
  if (before.builtin) throw apiError('CONFLICT', 'Shipped prices are read-only: add a custom price (or a project override) for the same pattern instead', { price_id: id })
  assertMayWritePrice(principal, before.project_id)
  const projectId = body.project_id === undefined ? before.project_id : body.project_id
  if (projectId !== before.project_id) assertMayWritePrice(principal, projectId)
  const pick = <T>(given: T | undefined, old: T) => (given === undefined ? old : given)
  sqlite.prepare(`UPDATE model_prices SET project_id = @projectId, provider = @provider, model_pattern = @pattern, input_per_mtok = @input,
    output_per_mtok = @output, cache_read_per_mtok = @cacheRead, cache_write_per_mtok = @cacheWrite, effective_from = @from, note = @note,
    updated_at = @now WHERE id = @id`).run({
    id, projectId, provider: body.provider === undefined ? before.provider : body.provider?.toLowerCase() ?? null,
    pattern: pick(body.model_pattern, before.model_pattern), input: pick(body.input_per_mtok, before.input_per_mtok),
    output: pick(body.output_per_mtok, before.output_per_mtok), cacheRead: pick(body.cache_read_per_mtok, before.cache_read_per_mtok),
    cacheWrite: pick(body.cache_write_per_mtok, before.cache_write_per_mtok), from: pick(body.effective_from, before.effective_from),
    note: pick(body.note, before.note), now: Math.max(now, before.updated_at + 1),
  })
  priceTableChanged()
  const after = getPriceRow(sqlite, id)!
  return { price: priceView(after), recosted: recostFor(sqlite, before, after) }
}

export function deletePrice(principal: Principal, id: number, scope: Scope) {
  const { sqlite } = useDatabase()
  const before = visiblePrice(sqlite, id, scope)
  if (before.builtin) throw apiError('CONFLICT', 'Shipped prices cannot be deleted: add a custom price for the same pattern to override it', { price_id: id })
  assertMayWritePrice(principal, before.project_id)
  sqlite.prepare('DELETE FROM model_prices WHERE id = ?').run(id)
  priceTableChanged()
  return { id, deleted: true as const, recosted: recostFor(sqlite, before), projectId: before.project_id }
}

/** Which price applies to a model at a time, with every candidate in precedence order. */
export function resolvePrice(q: z.output<typeof priceResolveQuery>, now = Date.now()) {
  const { sqlite } = useDatabase()
  const at = q.at ?? now
  const projectId = q.project_id ?? ''
  const provider = q.provider?.toLowerCase() ?? null
  const book = priceBook(sqlite)
  const candidates = candidatePrices(q.project_id === undefined ? book.rows.filter(r => r.projectId === null) : book.rows, projectId, provider, q.model)
    .sort(comparePrices)
  const price = priceAt(candidates, at)
  const view = (r: PriceRow) => priceView(getPriceRow(sqlite, r.id)!)
  return {
    model: q.model, provider, project_id: q.project_id ?? null, at: iso(at)!,
    price: price ? view(price) : null,
    candidates: candidates.map(view),
  }
}
