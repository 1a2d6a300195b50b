/**
 * The cost endpoints on the built server, as a client uses them: usage in, figures out;
 * prices and budgets by role and project; budget alerts and pauses; the costs channel; and
 * the Marcus costs.db import configured with MARCUS_COSTS_DB.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  budgetListResponse, budgetSchema, costAgentListResponse, costAgentResponse, costEventListResponse, costProjectListResponse, costProjectResponse,
  costSummaryResponse, costTimeseriesResponse, priceChangedResponse, priceListResponse, priceResolveResponse,
} from '../../shared/costs'
import { api, mintTestToken, startServer, tempDir, type TestServer, waitFor } from '../helpers/server'

const H = 3_600_000
/** Monday 2 March 2026, 00:00 UTC. */
const T0 = Date.UTC(2026, 2, 2)
const AS_OF = String(T0 + 10 * H)

let server: TestServer
let member: string
let viewer: string
let outsider: string

async function ingest(events: Record<string, unknown>[]) {
  const res = await api(server.url, '/api/ingest', { method: 'POST', json: { events } })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body
}

beforeAll(async () => {
  server = await startServer()
  member = await mintTestToken({ role: 'member', projects: ['shop'] })
  viewer = await mintTestToken({ role: 'viewer', projects: ['shop'] })
  outsider = await mintTestToken({ role: 'member', projects: ['elsewhere'] })
  await ingest([
    { kind: 'project.upserted', project_id: 'shop', name: 'Shop' },
    { kind: 'project.upserted', project_id: 'lab', name: 'Lab' },
    { kind: 'agent.registered', project_id: 'shop', agent_id: 'coder' },
    { kind: 'task.upserted', project_id: 'shop', task_id: 'checkout', name: 'Checkout API' },
    // 1M input × $3 + 0.2M output × $15 = $6
    { kind: 'cost.usage', id: 'c-1', project_id: 'shop', agent_id: 'coder', task_id: 'checkout', provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', input_tokens: 1_000_000, output_tokens: 200_000, ts: T0 + H },
    { kind: 'cost.usage', id: 'c-2', project_id: 'shop', agent_id: 'reviewer', model: 'gpt-4o', input_tokens: 400_000, output_tokens: 100_000, ts: T0 + 2 * H },
    { kind: 'cost.usage', id: 'c-3', project_id: 'lab', agent_id: 'scout', model: 'llama3.1:8b', provider: 'ollama', input_tokens: 50_000, ts: T0 + 3 * H },
    { kind: 'cost.usage', id: 'c-4', project_id: 'lab', agent_id: 'scout', model: 'claude-opus-4-5', cost: 1.25, input_tokens: 10, ts: T0 + 4 * H },
  ])
})

afterAll(async () => {
  await server?.dispose()
})

describe('cost figures', () => {
  it('sums, breaks down and projects the month for an admin', async () => {
    const res = await api(server.url, `/api/costs/summary?period=month&as_of=${AS_OF}`)
    expect(res.status).toBe(200)
    const s = costSummaryResponse.parse(res.body)
    // $6 + gpt-4o (0.4M × $2.50 + 0.1M × $10 = $2) + $0 (local) + $1.25 reported
    expect(s.totals).toMatchObject({ cost: 9.25, reported_cost: 1.25, estimated_cost: 8, events: 4, unpriced_events: 0 })
    expect(s.by_project.map(p => [p.project_id, p.name, p.cost])).toEqual([['shop', 'Shop', 8], ['lab', 'Lab', 1.25]])
    expect(s.by_task).toMatchObject([{ task_id: 'checkout', name: 'Checkout API', cost: 6 }])
    expect(s.by_model[0]).toMatchObject({ model: 'claude-sonnet-4-5-20250929', provider: 'anthropic', cost: 6 })
    expect(s.projection?.period_end).toBe(new Date(Date.UTC(2026, 3, 1)).toISOString())
  })

  it('keeps a member to its projects and a stranger out', async () => {
    const mine = await api(server.url, `/api/costs/summary?as_of=${AS_OF}`, { auth: member })
    expect(mine.body.total_cost).toBe(8)
    expect(mine.body.by_project.map((p: { project_id: string }) => p.project_id)).toEqual(['shop'])
    expect((await api(server.url, '/api/costs/summary?project_id=lab', { auth: member })).status).toBe(403)
    expect((await api(server.url, `/api/costs/projects/lab?as_of=${AS_OF}`, { auth: member })).status).toBe(403)
    expect((await api(server.url, `/api/costs/summary?as_of=${AS_OF}`, { auth: outsider })).body.total_cost).toBe(0)
    expect((await api(server.url, '/api/costs/agents/scout', { auth: member })).status).toBe(404)
  })

  it('lists and details projects and agents', async () => {
    const projects = costProjectListResponse.parse((await api(server.url, `/api/costs/projects?as_of=${AS_OF}`)).body)
    expect(projects.projects.map(p => [p.project_id, p.cost])).toEqual([['shop', 8], ['lab', 1.25]])
    const shop = costProjectResponse.parse((await api(server.url, `/api/costs/projects/shop?as_of=${AS_OF}`, { auth: viewer })).body)
    expect(shop.by_agent.map(a => [a.agent_id, a.cost])).toEqual([['coder', 6], ['reviewer', 2]])
    expect(shop.daily).toMatchObject([{ start: new Date(T0).toISOString(), cost: 8 }])
    expect((await api(server.url, '/api/costs/projects/nope')).body.error.code).toBe('PROJECT_NOT_FOUND')
    const agents = costAgentListResponse.parse((await api(server.url, `/api/costs/agents?as_of=${AS_OF}`)).body)
    expect(agents.agents.map(a => a.agent_id)).toEqual(['coder', 'reviewer', 'scout'])
    const coder = costAgentResponse.parse((await api(server.url, `/api/costs/agents/coder?as_of=${AS_OF}`, { auth: member })).body)
    expect(coder, JSON.stringify(coder)).toMatchObject({ projects: ['shop'], totals: { cost: 6 }, by_task: [{ task_id: 'checkout', cost: 6 }] })
  })

  it('answers a time series and the rows behind it', async () => {
    const ts = costTimeseriesResponse.parse((await api(server.url, `/api/costs/timeseries?bucket=hour&since=${T0}&until=${T0 + 5 * H}&group_by=project`)).body)
    expect(ts.points.map(p => p.cost)).toEqual([0, 6, 2, 0, 1.25])
    expect(ts.series?.map(s => s.key)).toEqual(['shop', 'lab'])
    const events = costEventListResponse.parse((await api(server.url, '/api/costs/events?project_id=lab')).body)
    expect(events.events.map(e => [e.id, e.cost, e.cost_source])).toEqual([['c-4', 1.25, 'reported'], ['c-3', 0, 'estimated']])
    expect((await api(server.url, '/api/costs/timeseries?bucket=hour&since=2020-01-01&until=2026-01-01')).body.error.code).toBe('VALIDATION_FAILED')
  })
})

describe('prices', () => {
  it('lists the shipped table and explains which price applies', async () => {
    const list = priceListResponse.parse((await api(server.url, '/api/costs/prices?model=gpt-4o', { auth: viewer })).body)
    expect(list.prices.map(p => [p.model_pattern, p.input_per_mtok, p.effective_from.slice(0, 10)])).toEqual([['gpt-4o*', 5, '2024-05-13'], ['gpt-4o*', 2.5, '2024-10-02']])
    const resolved = priceResolveResponse.parse((await api(server.url, '/api/costs/prices/resolve?model=gpt-4o-mini-2024-07-18&at=2025-01-01')).body)
    expect(resolved.price).toMatchObject({ model_pattern: 'gpt-4o-mini*', source: 'builtin' })
    expect(resolved.candidates.map(c => c.model_pattern)).toEqual(['gpt-4o-mini*', 'gpt-4o*', 'gpt-4o*'])
  })

  it('lets a member override a price for its project and re-costs stored usage', async () => {
    expect((await api(server.url, '/api/costs/prices', { method: 'POST', auth: viewer, json: { model_pattern: 'gpt-4o', project_id: 'shop', input_per_mtok: 1, output_per_mtok: 1 } })).status).toBe(403)
    const global = await api(server.url, '/api/costs/prices', { method: 'POST', auth: member, json: { model_pattern: 'gpt-4o', input_per_mtok: 1, output_per_mtok: 1 } })
    expect(global.status).toBe(403)
    const created = await api(server.url, '/api/costs/prices', { method: 'POST', auth: member, json: { model_pattern: 'gpt-4o', project_id: 'shop', input_per_mtok: 1, output_per_mtok: 4, note: 'negotiated' } })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const body = priceChangedResponse.parse(created.body)
    expect(body).toMatchObject({ price: { source: 'project', project_id: 'shop', model_pattern: 'gpt-4o' }, recosted: { events: 1, models: 1 } })
    // 0.4M × $1 + 0.1M × $4 = $0.80
    const c2 = (await api(server.url, '/api/costs/events?agent_id=reviewer')).body.events[0]
    expect(c2).toMatchObject({ cost: 0.8, cost_source: 'estimated', price_id: body.price.id })
    expect((await api(server.url, `/api/costs/summary?project_id=shop&as_of=${AS_OF}`)).body.total_cost).toBe(6.8)

    const changed = await api(server.url, `/api/costs/prices/${body.price.id}`, { method: 'PUT', auth: member, json: { output_per_mtok: 2 } })
    expect(changed.status).toBe(200)
    expect((await api(server.url, `/api/costs/summary?project_id=shop&as_of=${AS_OF}`)).body.total_cost).toBe(6.6)
    expect((await api(server.url, `/api/costs/prices/${body.price.id}`, { method: 'DELETE', auth: outsider })).status).toBe(404)
    const deleted = await api(server.url, `/api/costs/prices/${body.price.id}`, { method: 'DELETE', auth: member })
    expect(deleted.body).toEqual({ id: body.price.id, deleted: true, recosted: { events: 1, models: 1 } })
    expect((await api(server.url, `/api/costs/summary?project_id=shop&as_of=${AS_OF}`)).body.total_cost).toBe(8)
  })

  it('refuses to change a shipped price and rejects bad input without changing anything', async () => {
    const builtin = (await api(server.url, '/api/costs/prices?source=builtin')).body.prices[0]
    const res = await api(server.url, `/api/costs/prices/${builtin.id}`, { method: 'PUT', json: { input_per_mtok: 0 } })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('CONFLICT')
    const bad = await api(server.url, '/api/costs/prices', { method: 'POST', json: { model_pattern: '', input_per_mtok: -1 } })
    expect(bad.status).toBe(400)
    expect((await api(server.url, '/api/costs/prices/999999', { method: 'DELETE' })).status).toBe(404)
  })
})

describe('budgets', () => {
  it('creates, reads, changes and deletes a budget with its forecast', async () => {
    const created = await api(server.url, '/api/costs/budgets', { method: 'POST', auth: member, json: { name: 'Shop monthly', project_id: 'shop', period: 'month', limit_usd: 1000 } })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const budget = budgetSchema.parse(created.body)
    expect(budget).toMatchObject({ scope: 'project', scope_id: 'shop', warning_ratio: 0.8, warning_usd: 800, action: 'alert', status: { state: 'ok' } })
    const read = budgetSchema.parse((await api(server.url, `/api/costs/budgets/${budget.id}?as_of=${AS_OF}`, { auth: viewer })).body)
    // As of 10:00 the shop spent $8 over the 10 hourly buckets from its first usage at 01:00 to 11:00.
    expect(read.status).toMatchObject({ spent: 8, remaining: 992, burn_rate_per_hour: round6(8 / 10), forecast: { hours_to_limit: 1240 } })
    expect((await api(server.url, `/api/costs/budgets/${budget.id}`, { auth: outsider })).status).toBe(404)
    expect((await api(server.url, '/api/costs/budgets', { method: 'POST', auth: viewer, json: { project_id: 'shop', limit_usd: 1 } })).status).toBe(403)
    const changed = budgetSchema.parse((await api(server.url, `/api/costs/budgets/${budget.id}`, { method: 'PUT', auth: member, json: { limit_usd: 2000, warning_usd: 1500 } })).body)
    expect(changed).toMatchObject({ limit_usd: 2000, warning_ratio: 0.75 })
    const list = budgetListResponse.parse((await api(server.url, '/api/costs/budgets?project_id=shop')).body)
    expect(list.budgets.map(b => b.id)).toEqual([budget.id])
    expect((await api(server.url, `/api/costs/budgets/${budget.id}`, { method: 'DELETE', auth: member })).body).toEqual({ id: budget.id, deleted: true })
    expect((await api(server.url, `/api/costs/budgets/${budget.id}`)).status).toBe(404)
  })

  it('alerts on the costs and alerts channels and pauses the agent when its budget is spent', async () => {
    const token = await mintTestToken({ role: 'admin' })
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws?token=${token}`)
    const frames: { event: string, channel?: string, data: any }[] = []
    ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString())
      if (f.event === 'batch') frames.push(...f.data.events)
      else frames.push(f)
    })
    await waitFor(() => frames.some(f => f.event === 'connection_established'))
    ws.send(JSON.stringify({ event: 'subscribe', data: { channels: ['costs', 'alerts'], filters: { project_id: 'live' } } }))
    await waitFor(() => frames.some(f => f.event === 'subscription_confirmed'))

    await ingest([{ kind: 'agent.registered', project_id: 'live', agent_id: 'spender' }])
    const budget = (await api(server.url, '/api/costs/budgets', { method: 'POST', json: { project_id: 'live', scope: 'agent', scope_id: 'spender', period: 'day', limit_usd: 1, action: 'pause' } })).body
    // 0.1M output × $15 = $1.50 at Sonnet's price: past the $1 limit.
    await ingest([{ kind: 'cost.usage', project_id: 'live', agent_id: 'spender', model: 'claude-sonnet-4-5', output_tokens: 100_000 }])
    const update = await waitFor(() => frames.find(f => f.event === 'cost_update'))
    expect(update).toMatchObject({ channel: 'costs' })
    expect(update.data).toMatchObject({ project_id: 'live', cost: 1.5, cost_source: 'estimated', output_tokens: 100_000 })
    const alert = await waitFor(() => frames.find(f => f.event === 'budget_alert'))
    expect(alert).toMatchObject({ channel: 'costs', data: { type: 'budget_exceeded', severity: 'critical', details: { budget_id: budget.id, paused_agents: ['spender'] } } })
    expect(await waitFor(() => frames.find(f => f.event === 'alert'))).toMatchObject({ channel: 'alerts', data: { type: 'budget_exceeded' } })
    const commands = (await api(server.url, '/api/agents/spender/commands')).body
    expect(JSON.stringify(commands)).toContain('pause_processing')
    const status = (await api(server.url, `/api/costs/budgets/${budget.id}`)).body.status
    expect(status).toMatchObject({ state: 'exceeded', paused_agents: ['spender'] })
    ws.close()
  })
})

describe('MARCUS_COSTS_DB', () => {
  it('imports the ledger at start and follows new rows', async () => {
    const dir = tempDir('seneca-costs-db-')
    const path = join(dir, 'costs.db')
    const ledger = new Database(path)
    ledger.pragma('journal_mode = WAL')
    ledger.exec(`CREATE TABLE token_events (event_id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, project_id TEXT NOT NULL,
      agent_id TEXT NOT NULL, agent_role TEXT NOT NULL, task_id TEXT, operation TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
      input_tokens INTEGER NOT NULL DEFAULT 0, cache_creation_tokens INTEGER NOT NULL DEFAULT 0, cache_read_tokens INTEGER NOT NULL DEFAULT 0,
      output_tokens INTEGER NOT NULL DEFAULT 0, request_id TEXT, status TEXT NOT NULL DEFAULT 'ok', timestamp TIMESTAMP NOT NULL)`)
    const call = ledger.prepare(`INSERT INTO token_events (run_id, project_id, agent_id, agent_role, operation, provider, model, input_tokens, request_id, timestamp)
      VALUES ('r1', 'todo', 'agent_1', 'worker', 'turn', 'anthropic', 'claude-haiku-4-5', 1000000, ?, ?)`)
    call.run('req-1', '2026-03-02T09:00:00.000Z')
    const marcus = await startServer({ MARCUS_COSTS_DB: path, SENECA_MARCUS_COSTS_POLL_MS: '100' })
    try {
      const total = async () => (await api(marcus.url, `/api/costs/summary?project_id=todo&since=2026-03-01&as_of=${AS_OF}`)).body.total_cost
      await waitFor(async () => (await total()) === 1)
      call.run('req-2', '2026-03-02T10:00:00.000Z')
      await waitFor(async () => (await total()) === 2)
      expect((await api(marcus.url, '/health')).body.services.marcus_costs).toBe('following')
    }
    finally {
      ledger.close()
      await marcus.dispose()
    }
  })
})

function round6(v: number) {
  return Math.round(v * 1e6) / 1e6
}
