/**
 * The `cost.usage` projection (called by server/utils/projections.ts inside the ingest
 * transaction): prices each event with the model price table, stores it in `cost_events`
 * saying whether the cost was `reported`, `estimated` or is `unpriced`, and adds it to the
 * hourly, daily and per-task rollups. Rollups are written once per batch (many events of a
 * batch fall into the same few rollup rows).
 */
import type { Statement } from 'better-sqlite3'
import type { IngestEventOf } from '../../shared/events'
import type { Sqlite } from './db'
import { costAt, PriceBook, type PriceRow } from './costs-prices'

export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000
/** A quarter of a UTC day. */
export const QUARTER_MS = 6 * HOUR_MS

/** Start of the UTC month of `t`. */
export function monthStart(t: number): number {
  const d = new Date(t)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
}

/** Start of the UTC month after the one of `t`. */
export function nextMonth(t: number): number {
  const d = new Date(t)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}

type Figures = { events: number, input: number, output: number, cacheRead: number, cacheWrite: number, cost: number, reported: number, unpriced: number }
type Rollup = Figures & { key: Record<string, string | number> }

/** What the projection derived, for the realtime `cost_update`. */
export type CostDerived = {
  cost: number | null
  cost_source: 'reported' | 'estimated' | 'unpriced'
  price_id: number | null
  provider: string | null
}

let bookGeneration = 0

/** This process changed the price table: the next batch reloads it. */
export function priceTableChanged() {
  bookGeneration++
}

/** A `model_prices` row as the pricing reads it. */
export type PriceDbRow = {
  id: number
  project_id: string | null
  provider: string | null
  model_pattern: string
  input_per_mtok: number
  output_per_mtok: number
  cache_read_per_mtok: number | null
  cache_write_per_mtok: number | null
  effective_from: number
  builtin: number
}

export function priceRowFromDb(r: PriceDbRow): PriceRow {
  return {
    id: r.id, projectId: r.project_id, provider: r.provider, modelPattern: r.model_pattern, inputPerMtok: r.input_per_mtok,
    outputPerMtok: r.output_per_mtok, cacheReadPerMtok: r.cache_read_per_mtok, cacheWritePerMtok: r.cache_write_per_mtok,
    effectiveFrom: r.effective_from, builtin: r.builtin === 1,
  }
}

const books = new WeakMap<Sqlite, PriceBook>()

/**
 * The price table as a PriceBook, reloaded when it changed (here or, through the shared
 * database, on another instance: the version is the table's row count, newest change and ids).
 */
export function priceBook(sqlite: Sqlite): PriceBook {
  const v = sqlite.prepare('SELECT count(*) AS n, coalesce(max(updated_at), 0) AS u, coalesce(sum(id), 0) AS s FROM model_prices').get() as { n: number, u: number, s: number }
  const version = `${bookGeneration}:${v.n}:${v.u}:${v.s}`
  let book = books.get(sqlite)
  if (!book || book.version !== version) {
    const rows = (sqlite.prepare(`SELECT id, project_id, provider, model_pattern, input_per_mtok, output_per_mtok, cache_read_per_mtok,
      cache_write_per_mtok, effective_from, builtin FROM model_prices`).all() as PriceDbRow[]).map(priceRowFromDb)
    book = new PriceBook(rows, version)
    books.set(sqlite, book)
  }
  return book
}

/** The figure columns every cost rollup has, in this order. */
export const FIGURE_COLUMNS = 'events, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost, reported_cost, unpriced_events'
const FIGURE_VALUES = '@events, @input, @output, @cacheRead, @cacheWrite, @cost, @reported, @unpriced'
/** The upsert's update: adds the row's figures to the stored ones. */
export const FIGURE_ADD = `events = events + excluded.events, input_tokens = input_tokens + excluded.input_tokens,
  output_tokens = output_tokens + excluded.output_tokens, cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
  cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, cost = cost + excluded.cost,
  reported_cost = reported_cost + excluded.reported_cost, unpriced_events = unpriced_events + excluded.unpriced_events`

/** The rollups the projection keeps (their statements in CostProjector). */
/** The parameter each rollup key column takes its value from. */
const KEY_PARAMS = {
  project_id: '@projectId', hour: '@at', quarter: '@at', day: '@at', month: '@at', agent_id: '@agentId', task_id: '@taskId', model: '@model', provider: '@provider',
} as const

const ROLLUPS = ['hourly', 'daily', 'monthly', 'modelHourly', 'modelQuarterly', 'modelDaily', 'modelMonthly', 'agentHourly', 'agentQuarterly', 'agentDaily', 'agentMonthly',
  'dayModel', 'hourModel', 'task', 'taskMonthly', 'agentTask', 'agentTaskMonthly'] as const
type RollupName = (typeof ROLLUPS)[number]

export class CostProjector {
  private readonly st: Record<'insert' | RollupName, Statement>
  private book: PriceBook | undefined
  /** The batch's rollup rows, per rollup, by key. */
  private readonly maps = Object.fromEntries(ROLLUPS.map(name => [name, new Map<string, Rollup>()])) as Record<RollupName, Map<string, Rollup>>

  constructor(private readonly sqlite: Sqlite) {
    const p = (sql: string) => sqlite.prepare(sql)
    // Every rollup row adds the figures to the row of its key.
    const upsert = (table: string, keys: (keyof typeof KEY_PARAMS)[]) => p(`INSERT INTO ${table} (${keys.join(', ')}, ${FIGURE_COLUMNS})
      VALUES (${keys.map(k => KEY_PARAMS[k]).join(', ')}, ${FIGURE_VALUES})
      ON CONFLICT(${keys.join(', ')}) DO UPDATE SET ${FIGURE_ADD}`)
    this.st = {
      insert: p(`INSERT INTO cost_events (event_id, project_id, agent_id, task_id, provider, model, input_tokens, output_tokens,
        cache_read_tokens, cache_write_tokens, cost, cost_source, ts, price_id)
        VALUES (@eventId, @projectId, @agentId, @taskId, @provider, @model, @input, @output, @cacheRead, @cacheWrite, @cost, @costSource, @ts, @priceId)`),
      hourly: upsert('cost_hourly', ['project_id', 'hour', 'agent_id', 'model', 'provider']),
      daily: upsert('cost_daily', ['project_id', 'day', 'agent_id', 'model', 'provider']),
      monthly: upsert('cost_monthly', ['project_id', 'month', 'agent_id', 'model', 'provider']),
      modelHourly: upsert('cost_model_hourly', ['project_id', 'hour', 'model', 'provider']),
      modelQuarterly: upsert('cost_model_quarterly', ['project_id', 'quarter', 'model', 'provider']),
      modelDaily: upsert('cost_model_daily', ['project_id', 'day', 'model', 'provider']),
      task: upsert('cost_task_daily', ['project_id', 'task_id', 'day', 'model', 'provider']),
      taskMonthly: upsert('cost_task_monthly', ['project_id', 'task_id', 'month']),
      agentHourly: upsert('cost_agent_hourly', ['project_id', 'hour', 'agent_id']),
      agentQuarterly: upsert('cost_agent_quarterly', ['project_id', 'quarter', 'agent_id']),
      agentDaily: upsert('cost_agent_daily', ['project_id', 'day', 'agent_id']),
      agentMonthly: upsert('cost_agent_monthly', ['project_id', 'month', 'agent_id']),
      modelMonthly: upsert('cost_model_monthly', ['project_id', 'month', 'model', 'provider']),
      dayModel: upsert('cost_day_model', ['day', 'model', 'provider']),
      hourModel: upsert('cost_hour_model', ['hour', 'model', 'provider']),
      agentTask: upsert('cost_agent_task_daily', ['project_id', 'agent_id', 'task_id', 'day']),
      agentTaskMonthly: upsert('cost_agent_task_monthly', ['project_id', 'agent_id', 'task_id', 'month']),
    }
  }

  apply(e: IngestEventOf<'cost.usage'> & { id: string, ts: number, project_id: string }): CostDerived {
    const provider = e.provider?.trim().toLowerCase() || null
    const tokens = { input: e.input_tokens, output: e.output_tokens, cacheRead: e.cache_read_tokens, cacheWrite: e.cache_write_tokens }
    let cost: number | null
    let source: CostDerived['cost_source']
    let priceId: number | null = null
    if (e.cost !== undefined) {
      cost = e.cost
      source = 'reported'
    }
    else {
      this.book ??= priceBook(this.sqlite)
      const price = this.book.resolve(e.project_id, provider, e.model, e.ts)
      cost = price ? costAt(price, tokens) : null
      source = price ? 'estimated' : 'unpriced'
      priceId = price?.id ?? null
    }
    this.st.insert.run({
      eventId: e.id, projectId: e.project_id, agentId: e.agent_id ?? null, taskId: e.task_id ?? null, provider, model: e.model,
      ...tokens, cost, costSource: source, ts: e.ts, priceId,
    })
    const figures: Figures = { events: 1, ...tokens, cost: cost ?? 0, reported: source === 'reported' ? cost ?? 0 : 0, unpriced: source === 'unpriced' ? 1 : 0 }
    const agentId = e.agent_id ?? ''
    const prov = provider ?? ''
    const hour = Math.floor(e.ts / HOUR_MS) * HOUR_MS
    const quarter = Math.floor(e.ts / QUARTER_MS) * QUARTER_MS
    const day = Math.floor(e.ts / DAY_MS) * DAY_MS
    const month = monthStart(e.ts)
    const m = this.maps
    add(m.hourly, { projectId: e.project_id, at: hour, agentId, model: e.model, provider: prov }, figures)
    add(m.daily, { projectId: e.project_id, at: day, agentId, model: e.model, provider: prov }, figures)
    add(m.monthly, { projectId: e.project_id, at: month, agentId, model: e.model, provider: prov }, figures)
    add(m.modelHourly, { projectId: e.project_id, at: hour, model: e.model, provider: prov }, figures)
    add(m.modelQuarterly, { projectId: e.project_id, at: quarter, model: e.model, provider: prov }, figures)
    add(m.modelDaily, { projectId: e.project_id, at: day, model: e.model, provider: prov }, figures)
    add(m.modelMonthly, { projectId: e.project_id, at: month, model: e.model, provider: prov }, figures)
    add(m.agentHourly, { projectId: e.project_id, at: hour, agentId }, figures)
    add(m.agentQuarterly, { projectId: e.project_id, at: quarter, agentId }, figures)
    add(m.agentDaily, { projectId: e.project_id, at: day, agentId }, figures)
    add(m.agentMonthly, { projectId: e.project_id, at: month, agentId }, figures)
    add(m.dayModel, { at: day, model: e.model, provider: prov }, figures)
    add(m.hourModel, { at: hour, model: e.model, provider: prov }, figures)
    if (e.task_id) {
      add(m.task, { projectId: e.project_id, taskId: e.task_id, at: day, model: e.model, provider: prov }, figures)
      add(m.taskMonthly, { projectId: e.project_id, taskId: e.task_id, at: month }, figures)
      if (e.agent_id) {
        add(m.agentTask, { projectId: e.project_id, agentId: e.agent_id, taskId: e.task_id, at: day }, figures)
        add(m.agentTaskMonthly, { projectId: e.project_id, agentId: e.agent_id, taskId: e.task_id, at: month }, figures)
      }
    }
    return { cost, cost_source: source, price_id: priceId, provider }
  }

  flush() {
    for (const name of ROLLUPS) {
      const st = this.st[name]
      for (const r of this.maps[name].values()) st.run({ ...r.key, events: r.events, input: r.input, output: r.output, cacheRead: r.cacheRead, cacheWrite: r.cacheWrite, cost: r.cost, reported: r.reported, unpriced: r.unpriced })
    }
    this.discard()
  }

  /** Drops the batch's unwritten rollups; the price table is looked at again next batch. */
  discard() {
    for (const map of Object.values(this.maps)) map.clear()
    this.book = undefined
  }
}

function add(map: Map<string, Rollup>, key: Record<string, string | number>, f: Figures) {
  const k = Object.values(key).join('\u0000')
  let r = map.get(k)
  if (!r) {
    r = { key, events: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: 0, reported: 0, unpriced: 0 }
    map.set(k, r)
  }
  r.events += f.events
  r.input += f.input
  r.output += f.output
  r.cacheRead += f.cacheRead
  r.cacheWrite += f.cacheWrite
  r.cost += f.cost
  r.reported += f.reported
  r.unpriced += f.unpriced
}
