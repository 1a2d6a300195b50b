/**
 * Cost tracking with figures a reader can check by hand: the price table (matching, history,
 * overrides, free local models), re-costing, windows, burn rate and projection, budgets with
 * their alerts, pauses and forecasts. Prices are US dollars per million tokens.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Principal } from '../../server/utils/auth'
import { createPrice, deletePrice, resolvePrice, syncBuiltinPrices, updatePrice } from '../../server/utils/costs-admin'
import { checkBudgetsAfter, createBudget, getBudget, updateBudget } from '../../server/utils/costs-budgets'
import { costAgent, costAgents, costBurnRate, costPeriodBounds, costProject, costProjects, costSegments, costSummary, costTimeseries, listCostEvents } from '../../server/utils/costs'
import { BUILTIN_PRICES, modelNames, patternMatches, specificity } from '../../server/utils/costs-prices'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'
import { ingest } from '../../server/utils/ingest'
import { budgetBody, costAgentDetailQuery, costListQuery, costSummaryQuery, costTimeseriesQuery } from '../../shared/costs'

const H = 3_600_000
/** Monday 2 March 2026, 00:00 UTC. */
const T0 = Date.UTC(2026, 2, 2)
const admin: Principal = { id: 'user:ops', kind: 'jwt', role: 'admin', projects: '*' }
const member: Principal = { id: 'user:dev', kind: 'jwt', role: 'member', projects: ['p'] }

const rows = <T>(sql: string, ...args: unknown[]) => useDatabase().sqlite.prepare(sql).all(...args) as T[]
const row = <T>(sql: string, ...args: unknown[]) => useDatabase().sqlite.prepare(sql).get(...args) as T

let n = 0
function usage(fields: Record<string, unknown>) {
  const outcome = ingest([{ kind: 'cost.usage', id: `u-${++n}`, project_id: 'p', agent_id: 'a', ...fields }], 'test')
  expect(outcome.rejected, JSON.stringify(outcome.results)).toBe(0)
  return outcome
}
const costOf = (id: string) => row<{ cost: number | null, cost_source: string, price_id: number | null }>('SELECT cost, cost_source, price_id FROM cost_events WHERE event_id = ?', id)
const summary = (q: Record<string, string>) => costSummary(costSummaryQuery.parse(q), null, T0)

beforeEach(() => {
  setDatabase(openDatabase(':memory:'))
  syncBuiltinPrices()
  n = 0
})
afterEach(() => closeDatabase())

describe('the model price table', () => {
  it('matches dated, routed and cloud names to the shipped prices, the most specific first', () => {
    expect(modelNames('openai/GPT-4o')).toEqual(['openai/gpt-4o', 'gpt-4o'])
    expect(modelNames('us.anthropic.claude-sonnet-4-20250514-v1:0')).toContain('claude-sonnet-4-20250514')
    expect(patternMatches('claude-sonnet-4*', 'claude-sonnet-4-5-20250929')).toBe(true)
    expect(patternMatches('gpt-4o', 'GPT-4o')).toBe(true)
    expect(patternMatches('gpt-4o', 'gpt-4o-mini')).toBe(false)
    expect(specificity('gpt-4o-mini*')).toBeGreaterThan(specificity('gpt-4o*'))
    expect(specificity('gpt-4o')).toBeGreaterThan(specificity('gpt-4o-mini*'))
    expect(BUILTIN_PRICES.length).toBeGreaterThan(30)
  })

  it('prices input, output, cache reads and cache writes separately', () => {
    // 1M input × $3 + 0.1M output × $15 + 0.2M cache reads × $0.30 + 0.04M cache writes × $3.75 = 3 + 1.5 + 0.06 + 0.15
    usage({ model: 'claude-sonnet-4-20250514', provider: 'Anthropic', input_tokens: 1_000_000, output_tokens: 100_000, cache_read_tokens: 200_000, cache_write_tokens: 40_000, ts: T0 })
    expect(costOf('u-1').cost).toBeCloseTo(4.71, 9)
    expect(costOf('u-1').cost_source).toBe('estimated')
    expect(row<{ provider: string }>('SELECT provider FROM cost_events').provider).toBe('anthropic')
  })

  it('uses the price in force when the usage happened', () => {
    usage({ model: 'gpt-4o', input_tokens: 1_000_000, ts: Date.UTC(2024, 8, 1) })
    usage({ model: 'openai/gpt-4o-2024-08-06', input_tokens: 1_000_000, ts: Date.UTC(2024, 10, 1) })
    usage({ model: 'gpt-4o-mini-2024-07-18', input_tokens: 1_000_000, ts: Date.UTC(2024, 10, 1) })
    expect(costOf('u-1').cost).toBeCloseTo(5, 9)
    expect(costOf('u-2').cost).toBeCloseTo(2.5, 9)
    expect(costOf('u-3').cost).toBeCloseTo(0.15, 9)
  })

  it('prices local models at $0, leaves unknown models unpriced and keeps reported costs', () => {
    usage({ model: 'llama3.1:8b', provider: 'ollama', input_tokens: 5_000, output_tokens: 500, ts: T0 })
    usage({ model: 'mystery-1', input_tokens: 1_000, ts: T0 })
    usage({ model: 'claude-sonnet-4-5', input_tokens: 1_000_000, cost: 0.42, ts: T0 })
    expect(costOf('u-1')).toMatchObject({ cost: 0, cost_source: 'estimated' })
    expect(costOf('u-2')).toEqual({ cost: null, cost_source: 'unpriced', price_id: null })
    expect(costOf('u-3')).toEqual({ cost: 0.42, cost_source: 'reported', price_id: null })
    const s = summary({ period: 'day', as_of: String(T0 + H) })
    expect(s.totals).toMatchObject({ cost: 0.42, reported_cost: 0.42, estimated_cost: 0, events: 3, unpriced_events: 1, input_tokens: 1_006_000 })
  })

  it('re-costs stored usage when a project override is added, changed and removed', () => {
    for (let i = 0; i < 3; i++) usage({ model: 'claude-sonnet-4-5', provider: 'anthropic', input_tokens: 1_000_000, ts: T0 + i * H })
    usage({ model: 'claude-sonnet-4-5', provider: 'anthropic', input_tokens: 1_000_000, ts: T0, project_id: 'other' })
    const month = () => summary({ period: 'month', as_of: String(T0 + 5 * H), project_id: 'p' }).totals.cost
    expect(month()).toBeCloseTo(9, 9)

    const created = createPrice(member, { model_pattern: 'claude-sonnet-4-5*', project_id: 'p', input_per_mtok: 1, output_per_mtok: 5 })
    expect(created.recosted).toEqual({ events: 3, models: 1 })
    expect(month()).toBeCloseTo(3, 9)
    expect(costOf('u-1').price_id).toBe(created.price.id)
    expect(costOf('u-4').cost).toBeCloseTo(3, 9) // the other project keeps the shipped price
    for (const table of ['cost_hourly', 'cost_daily', 'cost_monthly', 'cost_model_hourly', 'cost_model_daily', 'cost_model_monthly', 'cost_agent_hourly',
      'cost_agent_daily', 'cost_agent_monthly', 'cost_task_daily', 'cost_task_monthly']) {
      expect(rows(`SELECT sum(cost) AS c FROM ${table} WHERE project_id = ?`, 'p'), table).toEqual([{ c: table.startsWith('cost_task') ? null : 3 }])
    }
    // Over every project: 3 × $1 in p, $3 at the shipped price in the other.
    expect(rows('SELECT sum(cost) AS c FROM cost_day_model')).toEqual([{ c: 6 }])

    updatePrice(member, created.price.id, { input_per_mtok: 2 }, ['p'])
    expect(month()).toBeCloseTo(6, 9)
    deletePrice(member, created.price.id, ['p'])
    expect(month()).toBeCloseTo(9, 9)
    expect(rows('SELECT sum(cost) AS c FROM cost_task_daily')).toEqual([{ c: null }])
  })

  it('re-costs only what retention kept, leaving the rollups of deleted months as they were', () => {
    const feb = Date.UTC(2026, 1, 10)
    usage({ model: 'claude-sonnet-4-5', provider: 'anthropic', input_tokens: 1_000_000, ts: feb })
    usage({ model: 'claude-sonnet-4-5', provider: 'anthropic', input_tokens: 1_000_000, ts: T0 })
    // What a retention pass does: whole months of usage go, their rollups stay.
    const march = Date.UTC(2026, 2, 1)
    useDatabase().sqlite.prepare('DELETE FROM cost_events WHERE ts < ?').run(march)
    useDatabase().sqlite.prepare('INSERT INTO retention_state (kind, deleted_before, rows_deleted, updated_at) VALUES (?, ?, 1, ?)').run('cost_events', march, T0)

    createPrice(member, { model_pattern: 'claude-sonnet-4-5*', project_id: 'p', input_per_mtok: 1, output_per_mtok: 5 })
    for (const table of ['cost_daily', 'cost_monthly', 'cost_model_daily']) {
      const column = table === 'cost_monthly' ? 'month' : 'day'
      expect(rows(`SELECT sum(cost) AS c FROM ${table} WHERE ${column} < ?`, march), table).toEqual([{ c: 3 }])
      expect(rows(`SELECT sum(cost) AS c FROM ${table} WHERE ${column} >= ?`, march), table).toEqual([{ c: 1 }])
    }
  })

  it('applies a price only from its effective date, and prices earlier usage when the date moves back', () => {
    usage({ model: 'mystery-2', input_tokens: 1_000_000, ts: T0 })
    usage({ model: 'mystery-2', input_tokens: 1_000_000, ts: T0 + 2 * H })
    const price = createPrice(admin, { model_pattern: 'mystery-*', input_per_mtok: 4, output_per_mtok: 8, effective_from: T0 + H })
    expect(costOf('u-1').cost_source).toBe('unpriced')
    expect(costOf('u-2').cost).toBeCloseTo(4, 9)
    const moved = updatePrice(admin, price.price.id, { effective_from: T0 }, null)
    expect(moved.recosted.events).toBe(2)
    expect(costOf('u-1').cost).toBeCloseTo(4, 9)
    expect(resolvePrice({ model: 'mystery-2', at: T0 }).price?.id).toBe(price.price.id)
  })

  it('keeps prices for every project to admins and shipped prices read-only', () => {
    expect(() => createPrice(member, { model_pattern: 'x', input_per_mtok: 1, output_per_mtok: 1 })).toThrow(/admins/)
    expect(() => createPrice(member, { model_pattern: 'x', project_id: 'q', input_per_mtok: 1, output_per_mtok: 1 })).toThrow(/No access/)
    const builtin = row<{ id: number }>('SELECT id FROM model_prices WHERE builtin = 1 LIMIT 1')
    expect(() => updatePrice(admin, builtin.id, { input_per_mtok: 1 }, null)).toThrow(/read-only/)
  })

  it('keeps the shipped prices in step and changes nothing when they did not change', () => {
    expect(syncBuiltinPrices().changed).toBe(0)
    useDatabase().sqlite.prepare(`UPDATE model_prices SET input_per_mtok = 99, updated_at = updated_at + 1 WHERE builtin = 1 AND model_pattern = 'claude-sonnet-4*'`).run()
    usage({ model: 'claude-sonnet-4-5', input_tokens: 1_000_000, ts: T0 })
    expect(costOf('u-1').cost).toBeCloseTo(99, 9)
    expect(syncBuiltinPrices()).toMatchObject({ changed: 1, events: 1 })
    expect(costOf('u-1').cost).toBeCloseTo(3, 9)
  })
})

describe('windows, burn rate and projection', () => {
  function threeHours() {
    usage({ model: 'm', cost: 1, ts: T0 + H, task_id: 't1' })
    usage({ model: 'm', cost: 2, ts: T0 + 2 * H, task_id: 't1', agent_id: 'b' })
    usage({ model: 'n', cost: 3, ts: T0 + 25 * H, task_id: 't2' })
  }

  it('sums the period, breaks it down and projects it to the period\'s end', () => {
    threeHours()
    const day2 = summary({ period: 'day', as_of: String(T0 + 25.5 * H) })
    expect(day2.window).toEqual({ period: 'day', start: new Date(T0 + 24 * H).toISOString(), end: new Date(T0 + 48 * H).toISOString(), as_of: new Date(T0 + 25.5 * H).toISOString() })
    expect(day2.total_cost).toBe(3)
    // Burn: the 24 hourly buckets up to 25:00–26:00 start at 02:00 and hold $2 + $3.
    expect(day2.burn_rate).toMatchObject({ per_hour: round6(5 / 24), cost_in_window: 5, hours: 24 })
    // 22.5 hours left in the day: 3 + 5/24 × 22.5
    expect(day2.projection).toEqual({ period_end: new Date(T0 + 48 * H).toISOString(), hours_remaining: 22.5, spent: 3, projected_cost: 7.6875 })

    const month = summary({ period: 'month', as_of: String(T0 + 25.5 * H) })
    expect(month.totals.cost).toBe(6)
    expect(month.by_agent.map(a => [a.agent_id, a.cost])).toEqual([['a', 4], ['b', 2]])
    expect(month.by_task.map(t => [t.task_id, t.cost])).toEqual([['t1', 3], ['t2', 3]])
    expect(month.by_model.map(m => [m.model, m.cost, m.events])).toEqual([['m', 3, 2], ['n', 3, 1]])
    expect(month.by_project).toMatchObject([{ project_id: 'p', cost: 6, events: 3 }])
  })

  it('applies a custom window at hour granularity and counts the first usage in the burn rate', () => {
    threeHours()
    expect(summary({ since: String(T0 + H), until: String(T0 + 2 * H), as_of: String(T0 + 30 * H) }).totals.cost).toBe(1)
    expect(summary({ since: String(T0), until: String(T0 + 26 * H), as_of: String(T0 + 30 * H) }).totals.cost).toBe(6)
    // As of 02:30 the usage began at 01:00: two buckets, $3.
    expect(summary({ period: 'day', as_of: String(T0 + 2.5 * H) }).burn_rate).toMatchObject({ per_hour: 1.5, hours: 2 })
  })

  it('reads a window as months, days, quarters of a day and hours, the current month as the month minus the rest', () => {
    expect(costSegments(T0, T0 + 26 * H)).toEqual([
      { table: 'cost_hourly', from: T0 + 24 * H, to: T0 + 26 * H, sign: 1 },
      { table: 'cost_daily', from: T0, to: T0 + 24 * H, sign: 1 },
    ])
    const mar = Date.UTC(2026, 2, 1)
    const apr = Date.UTC(2026, 3, 1)
    expect(costSegments(mar, Date.UTC(2026, 2, 20, 16))).toEqual([
      { table: 'cost_hourly', from: Date.UTC(2026, 2, 20, 16), to: Date.UTC(2026, 2, 20, 18), sign: -1 },
      { table: 'cost_quarterly', from: Date.UTC(2026, 2, 20, 18), to: Date.UTC(2026, 2, 21), sign: -1 },
      { table: 'cost_daily', from: Date.UTC(2026, 2, 21), to: apr, sign: -1 },
      { table: 'cost_monthly', from: mar, to: apr, sign: 1 },
    ])
    // 17:00 to the next day's 05:00: one hour and a quarter, then a quarter minus an hour; hours only when both agent and model matter.
    const edge = [Date.UTC(2026, 2, 2, 17), Date.UTC(2026, 2, 3, 5)] as const
    expect(costSegments(...edge)).toEqual([
      { table: 'cost_hourly', from: edge[0], to: Date.UTC(2026, 2, 2, 18), sign: 1 },
      { table: 'cost_quarterly', from: Date.UTC(2026, 2, 2, 18), to: Date.UTC(2026, 2, 3), sign: 1 },
      { table: 'cost_hourly', from: edge[1], to: Date.UTC(2026, 2, 3, 6), sign: -1 },
      { table: 'cost_quarterly', from: Date.UTC(2026, 2, 3), to: Date.UTC(2026, 2, 3, 6), sign: 1 },
    ])
    expect(costSegments(...edge, { quarters: false })).toEqual([
      { table: 'cost_hourly', from: edge[0], to: Date.UTC(2026, 2, 3), sign: 1 },
      { table: 'cost_hourly', from: Date.UTC(2026, 2, 3), to: edge[1], sign: 1 },
    ])
  })

  it('gives every window the sum of the usage rows in its hours', () => {
    const start = Date.UTC(2026, 1, 1)
    const span = Date.UTC(2026, 4, 1) - start
    let seed = 11
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    const events = Array.from({ length: 300 }, (_, i) => ({
      kind: 'cost.usage', id: `w-${i}`, project_id: i % 3 ? 'p' : 'q', agent_id: `a${i % 4}`, task_id: `t${i % 97}`, model: 'm', cost: 1 + (i % 5) + i / 1000, ts: start + Math.floor(next() * span),
    }))
    ingest(events, 'test')
    const direct = (from: number, to: number) => row<{ c: number | null }>('SELECT sum(cost) AS c FROM cost_events WHERE ts >= ? AND ts < ?', from, to).c ?? 0
    for (let i = 0; i < 40; i++) {
      const a = start + Math.floor(next() * span)
      const b = a + Math.floor(next() * span / 2)
      const hourA = Math.floor(a / H) * H
      const hourB = Math.ceil(b / H) * H
      const s = summary({ since: String(a), until: String(b), as_of: String(Date.UTC(2027, 0, 1)) })
      expect(s.totals.cost, `${new Date(a).toISOString()} – ${new Date(b).toISOString()}`).toBeCloseTo(direct(hourA, hourB), 6)
      expect(s.by_project.reduce((sum, p) => sum + p.cost, 0)).toBeCloseTo(s.totals.cost, 6)
      // The costliest tasks, over the days the window touches.
      const D = 24 * H
      const tasks = rows<{ task_id: string, project_id: string, cost: number }>(`SELECT project_id, task_id, sum(cost) AS cost FROM cost_events WHERE ts >= ? AND ts < ?
        GROUP BY project_id, task_id ORDER BY cost DESC, count(*) DESC, task_id, project_id LIMIT 10`, Math.floor(a / D) * D, Math.ceil(hourB / D) * D)
      expect(s.by_task.map(t => `${t.project_id}/${t.task_id}`)).toEqual(tasks.map(t => `${t.project_id}/${t.task_id}`))
      expect(s.by_task.map(t => round6(t.cost))).toEqual(tasks.map(t => round6(t.cost)))
      // The same window read from the rollups without the agent.
      const projects = costProjects(costListQuery.parse({ since: String(a), until: String(b), as_of: String(Date.UTC(2027, 0, 1)) }), null)
      expect(projects.projects.reduce((sum, p) => sum + p.cost, 0)).toBeCloseTo(direct(hourA, hourB), 6)
      // Agents from the rollups without the model, models from those without the agent.
      const grouped = (column: string) => rows<{ key: string, cost: number }>(`SELECT ${column} AS key, sum(cost) AS cost FROM cost_events WHERE ts >= ? AND ts < ?
        GROUP BY ${column} ORDER BY cost DESC, count(*) DESC, ${column}`, hourA, hourB).map(r => [r.key, round6(r.cost)])
      expect(s.by_agent.map(x => [x.agent_id, round6(x.cost)])).toEqual(grouped('agent_id'))
      expect(s.by_model.map(x => [x.model, round6(x.cost)])).toEqual(grouped('model'))
      agentTasksMatch(a, b)
    }
    // Whole months (one, and several), a month's start to the end of its usage, and a window past the usage.
    for (const [a, b] of [[Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1)], [start, Date.UTC(2026, 4, 1)], [Date.UTC(2026, 3, 1), Date.UTC(2026, 5, 9)],
      [Date.UTC(2026, 0, 5), Date.UTC(2026, 2, 14, 3)]] as [number, number][]) agentTasksMatch(a, b)
  })

  /** An agent's costliest tasks over the days a window touches, as its usage rows add up. */
  function agentTasksMatch(a: number, b: number) {
    const D = 24 * H
    const agent = costAgent('a1', costAgentDetailQuery.parse({ since: String(a), until: String(b), as_of: String(Date.UTC(2027, 0, 1)) }), null)
    const tasks = rows<{ task_id: string, project_id: string, cost: number }>(`SELECT project_id, task_id, sum(cost) AS cost FROM cost_events WHERE agent_id = 'a1'
      AND ts >= ? AND ts < ? GROUP BY project_id, task_id ORDER BY cost DESC, count(*) DESC, task_id, project_id LIMIT 10`, Math.floor(a / D) * D, Math.ceil(Math.ceil(b / H) * H / D) * D)
    expect(agent.by_task.map(t => `${t.project_id}/${t.task_id} ${round6(t.cost)}`), `${new Date(a).toISOString()} – ${new Date(b).toISOString()}`)
      .toEqual(tasks.map(t => `${t.project_id}/${t.task_id} ${round6(t.cost)}`))
  }

  it('lists the costliest tasks of a window over several months as their usage rows add up, tasks within one month included', () => {
    const start = Date.UTC(2026, 1, 1)
    const span = Date.UTC(2026, 4, 1) - start
    // 180 tasks, each used a few times within about half a day: most lie within one month, a few cross a month's end.
    ingest(Array.from({ length: 720 }, (_, i) => {
      const task = i % 180
      return {
        kind: 'cost.usage', id: `k-${i}`, project_id: task % 2 ? 'p' : 'q', agent_id: 'a', task_id: `t${task}`, model: i % 3 ? 'm' : 'n',
        cost: 1 + ((i * 7919) % 1000) / 100, ts: start + Math.floor((task / 180) * span) + (i % 4) * 3 * H,
      }
    }), 'test')
    const D = 24 * H
    for (const [a, b] of [[Date.UTC(2026, 1, 3, 5), Date.UTC(2026, 3, 2, 7)], [Date.UTC(2026, 0, 20), Date.UTC(2026, 3, 20)], [start, Date.UTC(2026, 3, 1)],
      [Date.UTC(2026, 1, 27, 13), Date.UTC(2026, 3, 1, 2)], [Date.UTC(2026, 1, 28, 23), Date.UTC(2026, 4, 3)]] as [number, number][]) {
      const s = summary({ since: String(a), until: String(b), as_of: String(Date.UTC(2027, 0, 1)) })
      const to = Math.ceil(b / H) * H
      const tasks = rows<{ task_id: string, project_id: string, cost: number }>(`SELECT project_id, task_id, sum(cost) AS cost FROM cost_events WHERE ts >= ? AND ts < ?
        GROUP BY project_id, task_id ORDER BY cost DESC, count(*) DESC, task_id, project_id LIMIT 10`, Math.floor(a / D) * D, Math.ceil(to / D) * D)
      expect(s.by_task.map(t => `${t.project_id}/${t.task_id} ${round6(t.cost)}`), new Date(a).toISOString()).toEqual(tasks.map(t => `${t.project_id}/${t.task_id} ${round6(t.cost)}`))
    }
  })

  it('answers a daily series of every project from the rollup per day and model, as the per-project rollups do', () => {
    const start = Date.UTC(2026, 1, 20)
    ingest(Array.from({ length: 120 }, (_, i) => ({
      kind: 'cost.usage', id: `d-${i}`, project_id: ['p', 'q', 'r'][i % 3], agent_id: `a${i % 5}`, model: ['m', 'n'][i % 2], cost: 1 + (i % 7) / 4, ts: start + i * 7 * H,
    })), 'test')
    for (const bucket of ['day', 'week', 'month'] as const) {
      for (const group_by of [undefined, 'model'] as const) {
        const q = costTimeseriesQuery.parse({ bucket, since: String(start), until: String(start + 40 * 24 * H), ...(group_by ? { group_by } : {}) })
        const all = costTimeseries(q, null)
        expect(all, `${bucket} ${group_by}`).toEqual(costTimeseries(q, ['p', 'q', 'r']))
        expect(all.points.reduce((sum, p) => sum + p.cost, 0)).toBeCloseTo(row<{ c: number }>('SELECT sum(cost) AS c FROM cost_events').c, 6)
      }
    }
    const byAgent = costTimeseries(costTimeseriesQuery.parse({ bucket: 'hour', since: String(start), until: String(start + 48 * H), group_by: 'agent' }), null)
    expect(byAgent.series?.map(x => [x.key, x.cost])).toEqual(rows<{ key: string, cost: number }>(`SELECT agent_id AS key, sum(cost) AS cost FROM cost_events
      WHERE ts < ? GROUP BY agent_id ORDER BY cost DESC, agent_id`, start + 48 * H).map(r => [r.key, round6(r.cost)]))
  })

  it('computes UTC periods: days, ISO weeks from Monday, months', () => {
    const wed = Date.UTC(2026, 2, 4, 15)
    expect(costPeriodBounds('day', wed)).toEqual({ start: Date.UTC(2026, 2, 4), end: Date.UTC(2026, 2, 5) })
    expect(costPeriodBounds('week', wed)).toEqual({ start: T0, end: Date.UTC(2026, 2, 9) })
    expect(costPeriodBounds('week', Date.UTC(2026, 2, 8, 23))).toEqual({ start: T0, end: Date.UTC(2026, 2, 9) })
    expect(costPeriodBounds('month', wed)).toEqual({ start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 3, 1) })
  })

  it('answers time series in buckets, empty ones included, and per model', () => {
    threeHours()
    const hours = costTimeseries(costTimeseriesQuery.parse({ bucket: 'hour', since: String(T0), until: String(T0 + 3 * H) }), null)
    expect(hours.points.map(p => p.cost)).toEqual([0, 1, 2])
    const days = costTimeseries(costTimeseriesQuery.parse({ bucket: 'day', since: String(T0), until: String(T0 + 48 * H), group_by: 'model' }), null)
    expect(days.points.map(p => p.cost)).toEqual([3, 3])
    expect(days.series?.map(s => [s.key, s.points.map(p => p.cost)])).toEqual([['m', [3, 0]], ['n', [0, 3]]])
    const weeks = costTimeseries(costTimeseriesQuery.parse({ bucket: 'week', since: String(T0), until: String(T0 + 8 * 24 * H) }), null)
    expect(weeks.points).toHaveLength(2)
    expect(weeks.points[0]).toMatchObject({ start: new Date(T0).toISOString(), cost: 6 })
  })

  it('lists the rows behind the figures, and details a project and an agent', () => {
    threeHours()
    const page = listCostEvents({ limit: 2 }, null)
    expect(page.events.map(e => e.id)).toEqual(['u-3', 'u-2'])
    expect(listCostEvents({ limit: 2, cursor: page.next_cursor! }, null).events.map(e => e.id)).toEqual(['u-1'])
    const q = { period: 'month' as const, as_of: T0 + 30 * H, burn_window_hours: 24, top: 10 }
    const project = costProject('p', q, T0)
    expect(project.daily.map(d => [d.start.slice(0, 10), d.cost])).toEqual([['2026-03-02', 3], ['2026-03-03', 3]])
    const agent = costAgent('b', { ...q }, null, T0)
    expect(agent.totals.cost).toBe(2)
    expect(agent.by_task).toMatchObject([{ task_id: 't1', cost: 2 }])
  })
})

describe('derived rollups', () => {
  const f = 'sum(events) AS events, round(sum(cost), 6) AS cost, sum(input_tokens) AS input, sum(unpriced_events) AS unpriced'
  const MONTH_OF_DAY = `CAST(strftime('%s', day / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000`
  const KEPT = `(SELECT coalesce(max(deleted_before), 0) FROM retention_state WHERE kind = 'cost_events')`
  /** Every derived rollup holds the sums of the rollup it is derived from, and the base rollups those of the usage rows. */
  function consistent(label: string) {
    const same = (derived: string, source: string) => expect(rows(derived), `${label}: ${derived}`).toEqual(rows(source))
    same(`SELECT project_id, hour, agent_id, ${f} FROM cost_agent_hourly GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, `SELECT project_id, hour, agent_id, ${f} FROM cost_hourly GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
    same(`SELECT project_id, day, agent_id, ${f} FROM cost_agent_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, `SELECT project_id, day, agent_id, ${f} FROM cost_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
    same(`SELECT project_id, month, agent_id, ${f} FROM cost_agent_monthly GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, `SELECT project_id, month, agent_id, ${f} FROM cost_monthly GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
    same(`SELECT project_id, month, model, provider, ${f} FROM cost_model_monthly GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`, `SELECT project_id, month, model, provider, ${f} FROM cost_monthly GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
    same(`SELECT day, model, provider, ${f} FROM cost_day_model GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, `SELECT day, model, provider, ${f} FROM cost_model_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
    same(`SELECT hour, model, provider, ${f} FROM cost_hour_model GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, `SELECT hour, model, provider, ${f} FROM cost_model_hourly GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
    same(`SELECT project_id, quarter, model, provider, ${f} FROM cost_model_quarterly GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
      `SELECT project_id, (hour / ${6 * H}) * ${6 * H} AS quarter, model, provider, ${f} FROM cost_model_hourly GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
    same(`SELECT project_id, quarter, agent_id, ${f} FROM cost_agent_quarterly GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      `SELECT project_id, (hour / ${6 * H}) * ${6 * H} AS quarter, agent_id, ${f} FROM cost_hourly GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
    same(`SELECT project_id, agent_id, task_id, month, ${f} FROM cost_agent_task_monthly GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
      `SELECT project_id, agent_id, task_id, ${MONTH_OF_DAY} AS month, ${f} FROM cost_agent_task_daily GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
    // The usage rows retention kept: their agent and task rows are theirs alone.
    same(`SELECT project_id, agent_id, task_id, day, ${f} FROM cost_agent_task_daily WHERE day >= ${KEPT} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
      `SELECT project_id, agent_id, task_id, (ts / 86400000) * 86400000 AS day, count(*) AS events, round(coalesce(sum(cost), 0), 6) AS cost, sum(input_tokens) AS input,
        sum(cost_source = 'unpriced') AS unpriced FROM cost_events WHERE agent_id IS NOT NULL AND task_id IS NOT NULL AND ts >= ${KEPT} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
    same('SELECT project_id, task_id, first_month, last_month FROM cost_task_spans ORDER BY 1, 2',
      'SELECT project_id, task_id, min(month) AS first_month, max(month) AS last_month FROM cost_task_monthly GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2')
  }
  function load() {
    // Feb to April; tasks t0…t24 each get usage every ~9.7 days, so most run across a month's end. Some usage names
    // no agent or no task, some a model without a price.
    ingest(Array.from({ length: 200 }, (_, i) => ({
      kind: 'cost.usage', id: `r-${i}`, project_id: i % 4 ? 'p' : 'q', agent_id: i % 13 === 12 ? undefined : `a${i % 3}`,
      task_id: i % 19 === 18 ? undefined : `t${i % 25}`, provider: 'anthropic',
      model: i % 17 === 16 ? 'claude-mystery-1' : i % 5 ? 'claude-sonnet-4-5' : 'claude-haiku-4-5', input_tokens: 1000 * (1 + (i % 9)), output_tokens: 100 * (i % 4),
      ...(i % 11 === 0 ? { cost: 0.5 } : {}), ts: Date.UTC(2026, 1, 1) + i * 10 * H,
    })), 'test')
  }

  it('keeps every derived rollup in step through ingest, a price change, its re-costing and its removal', () => {
    load()
    consistent('ingest')
    expect(rows<{ n: number }>('SELECT count(*) AS n FROM cost_task_spans')[0]!.n).toBeGreaterThan(10)
    const sonnet = () => rows<{ c: number }>(`SELECT round(sum(cost), 6) AS c FROM cost_day_model WHERE model = 'claude-sonnet-4-5'`)[0]!.c
    const before = sonnet()
    const created = createPrice(member, { model_pattern: 'claude-sonnet-4-5*', project_id: 'p', input_per_mtok: 1, output_per_mtok: 5, cache_read_per_mtok: 0.1, cache_write_per_mtok: 1 })
    expect(created.recosted.events).toBeGreaterThan(0)
    consistent('override')
    expect(sonnet()).toBeLessThan(before)
    updatePrice(member, created.price.id, { input_per_mtok: 2 }, ['p'])
    consistent('changed')
    deletePrice(member, created.price.id, ['p'])
    consistent('removed')
    expect(sonnet()).toBeCloseTo(before, 6)
  })

  it('gives each listed agent the burn rate it has on its own, also when its usage began inside the window', () => {
    load()
    // An agent that starts in the middle of a 24-hour window, and one in another project under the same id.
    usage({ model: 'm', cost: 2, agent_id: 'late', ts: Date.UTC(2026, 1, 20, 10) })
    usage({ model: 'm', cost: 3, agent_id: 'late', ts: Date.UTC(2026, 1, 20, 13) })
    usage({ model: 'm', cost: 5, agent_id: 'a1', project_id: 'r', ts: Date.UTC(2026, 1, 19, 23) })
    for (const asOf of [Date.UTC(2026, 1, 20, 14, 30), Date.UTC(2026, 1, 21, 9), Date.UTC(2026, 2, 5)]) {
      for (const hours of [1, 24, 24 * 30]) {
        const listed = costAgents(costListQuery.parse({ as_of: String(asOf), burn_window_hours: String(hours), period: 'month' }), null)
        expect(listed.agents.length).toBeGreaterThan(0)
        for (const a of listed.agents) {
          const own = costBurnRate(useDatabase().sqlite, { scope: null, projectId: a.project_id, agentId: a.agent_id }, asOf, hours)
          expect(a.burn_rate_per_day, `${a.project_id}/${a.agent_id} ${hours} h`).toBe(own.per_day)
        }
      }
    }
    const late = costAgents(costListQuery.parse({ as_of: String(Date.UTC(2026, 1, 20, 14, 30)) }), null).agents.find(a => a.agent_id === 'late')!
    // $5 over the 5 hourly buckets from 10:00 to 15:00.
    expect(late.burn_rate_per_day).toBe(24)
  })

  it('keeps the derived rollups of months retention deleted, and rebuilds only what it kept', () => {
    load()
    const march = Date.UTC(2026, 2, 1)
    const old = () => ({
      agents: rows(`SELECT project_id, day, agent_id, ${f} FROM cost_agent_daily WHERE day < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, march),
      months: rows(`SELECT project_id, month, agent_id, ${f} FROM cost_agent_monthly WHERE month < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, march),
      models: rows(`SELECT project_id, month, model, ${f} FROM cost_model_monthly WHERE month < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, march),
      days: rows(`SELECT day, model, ${f} FROM cost_day_model WHERE day < ? GROUP BY 1, 2 ORDER BY 1, 2`, march),
      spans: rows('SELECT * FROM cost_task_spans ORDER BY 1, 2'),
    })
    const kept = old()
    expect(kept.agents.length).toBeGreaterThan(0)
    // What a retention pass does: whole months of usage go, their rollups stay.
    useDatabase().sqlite.prepare('DELETE FROM cost_events WHERE ts < ?').run(march)
    useDatabase().sqlite.prepare('INSERT INTO retention_state (kind, deleted_before, rows_deleted, updated_at) VALUES (?, ?, 1, ?)').run('cost_events', march, T0)
    createPrice(member, { model_pattern: 'claude-sonnet-4-5*', project_id: 'p', input_per_mtok: 1, output_per_mtok: 5 })
    expect(old()).toEqual(kept)
    consistent('after retention')
    // February is still answered in full from the rollups.
    const feb = summary({ since: String(Date.UTC(2026, 1, 1)), until: String(march), as_of: String(T0) })
    expect(feb.totals.events).toBe(rows<{ n: number }>('SELECT sum(events) AS n FROM cost_monthly WHERE month = ?', Date.UTC(2026, 1, 1))[0]!.n)
    expect(feb.by_agent.reduce((sum, a) => sum + a.cost, 0)).toBeCloseTo(feb.totals.cost, 6)
  })
})

describe('budgets', () => {
  const spend = (cost: number, ts: number, extra: Record<string, unknown> = {}) => checkBudgetsAfter(usage({ model: 'claude-sonnet-4-5', cost, ts, ...extra }).events, ts)
  const alerts = () => rows<{ type: string, severity: string }>('SELECT type, severity FROM alerts ORDER BY ts, type')

  it('alerts once per period at the warning and at the limit', () => {
    createBudget(admin, budgetBody.parse({ project_id: 'p', scope: 'project', period: 'day', limit_usd: 5, action: 'alert' }), T0)
    expect(spend(3, T0 + H)).toEqual([])
    expect(spend(1.5, T0 + 2 * H)).toHaveLength(1) // $4.50 ≥ 80% of $5
    expect(spend(0.1, T0 + 3 * H)).toEqual([])
    expect(spend(1, T0 + 4 * H)).toHaveLength(1) // $5.60
    expect(spend(1, T0 + 5 * H)).toEqual([])
    expect(alerts()).toEqual([{ type: 'budget_warning', severity: 'warning' }, { type: 'budget_exceeded', severity: 'critical' }])
    // The next day is a new period.
    expect(spend(4.2, T0 + 26 * H)).toHaveLength(1)
    expect(alerts().map(a => a.type)).toEqual(['budget_warning', 'budget_exceeded', 'budget_warning'])
  })

  it('pauses the agent of an agent budget through the command lifecycle', () => {
    ingest([{ kind: 'agent.registered', project_id: 'p', agent_id: 'a', ts: T0 }], 'test')
    const budget = createBudget(admin, budgetBody.parse({ project_id: 'p', scope: 'agent', scope_id: 'a', period: 'day', limit_usd: 2, action: 'pause' }), T0)
    spend(1, T0 + H, { agent_id: 'other' })
    expect(spend(2.5, T0 + 2 * H)).toHaveLength(1)
    expect(rows('SELECT agent_id, command, status, issued_by FROM agent_commands')).toEqual([
      { agent_id: 'a', command: 'pause_processing', status: 'pending', issued_by: `budget:${budget.id}` },
    ])
    const status = getBudget(budget.id, null, T0 + 2.5 * H, 24).status
    expect(status).toMatchObject({ state: 'exceeded', spent: 2.5, paused_agents: ['a'], limit_crossed_at: new Date(T0 + 2 * H).toISOString() })
  })

  it('pauses the agents that used the model of a model budget, only in the current period', () => {
    ingest([
      { kind: 'agent.registered', project_id: 'p', agent_id: 'a', ts: T0 },
      { kind: 'agent.registered', project_id: 'p', agent_id: 'b', ts: T0 },
      { kind: 'agent.registered', project_id: 'p', agent_id: 'c', ts: T0 },
    ], 'test')
    createBudget(admin, budgetBody.parse({ project_id: 'p', scope: 'model', scope_id: 'claude-*', period: 'day', limit_usd: 1, action: 'pause' }), T0)
    // Yesterday's overspend (seen today) alerts but pauses nobody.
    checkBudgetsAfter(usage({ model: 'claude-haiku-4-5', cost: 2, ts: T0 - 2 * H }).events, T0 + 3 * H)
    expect(rows('SELECT * FROM agent_commands')).toEqual([])
    usage({ model: 'gpt-4o', cost: 5, ts: T0 + H, agent_id: 'c' })
    checkBudgetsAfter(usage({ model: 'claude-sonnet-4-5', cost: 1.2, ts: T0 + 2 * H, agent_id: 'b' }).events, T0 + 3 * H)
    expect(rows('SELECT agent_id FROM agent_commands ORDER BY agent_id')).toEqual([{ agent_id: 'b' }])
    expect(alerts().map(a => a.type)).toEqual(['budget_exceeded', 'budget_exceeded'])
  })

  it('forecasts when the limit is reached at the burn rate', () => {
    usage({ model: 'm', cost: 5, ts: T0 })
    usage({ model: 'm', cost: 5, ts: T0 + 9 * H })
    const asOf = T0 + 9.5 * H
    const budget = createBudget(admin, budgetBody.parse({ project_id: 'p', period: 'month', limit_usd: 100 }), asOf)
    // Burn: $10 over the 10 buckets since the first usage = $1/h; $90 left → 90 h.
    expect(budget.status).toMatchObject({
      spent: 10, remaining: 90, ratio: 0.1, state: 'ok', burn_rate_per_hour: 1,
      forecast: { hours_to_limit: 90, exhausted_at: new Date(asOf + 90 * H).toISOString(), projected_spend: 720.5, will_exceed_in_period: true },
    })
    const raised = updateBudget(admin, budget.id, { limit_usd: 1000, warning_usd: 600 }, null, asOf)
    expect(raised.warning_ratio).toBe(0.6)
    expect(raised.status.forecast.will_exceed_in_period).toBe(false)
  })

  it('raises the alert at once for a budget created past its limit', () => {
    usage({ model: 'm', cost: 7, ts: T0 })
    const budget = createBudget(admin, budgetBody.parse({ project_id: 'p', period: 'total', limit_usd: 5 }), T0 + H)
    expect(budget.status).toMatchObject({ state: 'exceeded', period_start: null, forecast: { hours_to_limit: 0, projected_spend: null } })
    expect(alerts()).toEqual([{ type: 'budget_exceeded', severity: 'critical' }])
  })
})

function round6(v: number) {
  return Math.round(v * 1e6) / 1e6
}
