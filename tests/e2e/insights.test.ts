/**
 * Costs, Insights, Context and the Settings additions in Chromium, against session-a read by
 * the Marcus log connector plus token usage ingested as cost.usage events; a server without a
 * module says so instead of showing made-up figures.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot } from '../helpers/browser'
import { MARCUS_PROJECT, signedInPage, startMarcusServer } from '../helpers/dashboards'
import { api, type TestServer } from '../helpers/server'
import { formatMoney } from '../../utils/format'

let server: TestServer
let browser: Browser

beforeAll(async () => {
  server = await startMarcusServer()
  const now = Date.now()
  const usage = (agent: string, model: string, minutesAgo: number, input: number, output: number) => ({
    kind: 'cost.usage', project_id: MARCUS_PROJECT, agent_id: agent, provider: 'anthropic', model,
    input_tokens: input, output_tokens: output, cache_read_tokens: 0, cache_write_tokens: 0, ts: new Date(now - minutesAgo * 60_000).toISOString(),
  })
  const ingested = await api(server.url, '/api/ingest', { method: 'POST', json: { events: [
    usage('agent-backend-01', 'claude-sonnet-4', 300, 120_000, 8_000),
    usage('agent-backend-01', 'claude-sonnet-4', 90, 80_000, 6_000),
    usage('agent-frontend-01', 'claude-haiku-4-5', 60, 200_000, 20_000),
    usage('agent-testing-01', 'claude-sonnet-4', 20, 50_000, 4_000),
  ] } })
  expect(ingested.body.stored).toBe(4)
  const budget = await api(server.url, '/api/costs/budgets', { method: 'POST', json: { name: 'Marcus monthly', project_id: MARCUS_PROJECT, period: 'month', limit_usd: 5 } })
  expect(budget.status).toBe(201)
  const price = await api(server.url, '/api/costs/prices', { method: 'POST', json: { model_pattern: 'in-house-llm*', input_per_mtok: 0.5, output_per_mtok: 1.5, note: 'self-hosted' } })
  expect(price.status).toBe(201)
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await server?.dispose()
})

describe('costs, insights and context in Chromium', () => {
  it('shows spend over time, by model, agent and project, and the budget with its forecast', async () => {
    const { body: summary } = await api(server.url, `/api/costs/summary?since=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`)
    expect(summary.totals.cost).toBeGreaterThan(0)
    const { page, errors } = await signedInPage(browser, server)
    await page.goto(`${server.url}/costs`)
    await page.getByRole('group', { name: 'Spend in window' }).getByText(formatMoney(summary.totals.cost), { exact: true }).waitFor()
    await page.getByRole('region', { name: 'Spend by model' }).getByRole('cell', { name: 'claude-haiku-4-5 (anthropic)', exact: true }).waitFor()
    await page.getByRole('region', { name: 'Spend by agent' }).getByRole('cell', { name: 'agent-backend-01', exact: true }).waitFor()
    await page.getByRole('region', { name: 'Spend by project' }).getByRole('cell', { name: 'Task Master Test', exact: true }).waitFor()
    await page.getByRole('img', { name: /^Spend per day/ }).locator('canvas').first().waitFor()
    const budget = page.getByTestId('budget').filter({ hasText: 'Marcus monthly' })
    await budget.getByText(/Forecast for the period/).waitFor()
    expect(Number(await budget.getByRole('meter').getAttribute('aria-valuenow'))).toBeCloseTo(summary.totals.cost, 6)
    await screenshot(page, 'costs')
    expect(errors).toEqual([])
  })

  it('shows patterns, the completion prediction, blockers and learning curves', async () => {
    const { page, errors } = await signedInPage(browser, server)
    await page.goto(`${server.url}/insights`)
    await page.getByTestId('pattern').filter({ hasText: 'agent-backend-01 is the best fit for backend' }).first().waitFor()
    await page.getByRole('heading', { name: 'Predicted completion of Task Master Test' }).waitFor()
    await page.getByRole('group', { name: 'Remaining' }).getByText('6 tasks').waitFor()
    await page.getByRole('cell', { name: /PATCH \/api\/tasks\/:id returns 500/ }).waitFor()
    await page.getByRole('button', { name: 'Frontend Agent 01' }).click()
    await page.getByRole('img', { name: /^Learning curve of agent-frontend-01/ }).locator('canvas').first().waitFor()
    await screenshot(page, 'insights')
    expect(errors).toEqual([])
  })

  it('draws the knowledge graph and analyses the impact of a delayed task', async () => {
    const { page, errors } = await signedInPage(browser, server)
    await page.goto(`${server.url}/context`)
    await page.getByRole('img', { name: /^Knowledge graph with \d+ nodes/ }).locator('canvas').first().waitFor()
    await page.getByRole('button', { name: 'Add task filtering and search endpoint' }).click()
    await page.getByTestId('impact-summary').filter({ hasText: 'The project finishes' }).waitFor()
    const { body: impact } = await api(server.url, '/api/context/tasks/2302800905221492049/impact?mode=delay&delay_hours=4')
    await expect(page.getByTestId('impact-summary').textContent()).resolves.toContain(`${impact.project_delay_hours.toFixed(2)} h`)
    const { body: prediction } = await api(server.url, '/api/patterns/predictions/tasks/2302800905221492049')
    await page.getByRole('group', { name: 'Success' }).getByText(`${Math.round(prediction.prediction.success_probability * 100)}%`, { exact: true }).waitFor()
    await screenshot(page, 'context')
    expect(errors).toEqual([])
  })

  it('manages price overrides and budgets and lists notification targets under Settings', async () => {
    await api(server.url, '/api/pipelines', { method: 'POST', json: {
      id: 'nightly', project_id: MARCUS_PROJECT, name: 'Nightly', stages: [{ id: 'run', name: 'Run', capability: 'backend' }],
      notification_targets: { slack: { url: 'https://hooks.slack.example/services/T000/B000/XXXX' } },
    } })
    const { page, errors } = await signedInPage(browser, server)
    await page.goto(`${server.url}/settings`)
    await page.getByRole('cell', { name: 'in-house-llm*', exact: true }).waitFor()
    const prices = page.getByRole('form', { name: 'New price' })
    await prices.getByLabel('Model or glob').fill('team-model')
    await prices.getByLabel('Input $/Mtok').fill('2')
    await prices.getByLabel('Output $/Mtok').fill('6')
    await prices.getByRole('button', { name: 'Add price' }).click()
    await page.getByRole('status').filter({ hasText: 'Saved team-model' }).waitFor()
    await page.getByRole('cell', { name: 'team-model', exact: true }).waitFor()

    const budgets = page.getByRole('form', { name: 'New budget' })
    await budgets.getByLabel('Name').fill('Daily cap')
    await budgets.getByRole('combobox', { name: /^Project/ }).selectOption(MARCUS_PROJECT)
    await budgets.getByLabel('Period').selectOption('day')
    await budgets.getByLabel('Limit (USD)').fill('1')
    await budgets.getByRole('button', { name: 'Add budget' }).click()
    await page.getByRole('status').filter({ hasText: 'Budget created.' }).waitFor()
    await page.getByRole('cell', { name: 'Daily cap', exact: true }).waitFor()
    await page.getByRole('button', { name: 'Remove budget Daily cap' }).click()
    await page.getByRole('dialog', { name: 'Remove budget Daily cap?' }).getByRole('button', { name: 'Remove' }).click()
    await page.getByRole('status').filter({ hasText: 'Budget removed.' }).waitFor()
    await expect.poll(() => page.getByRole('cell', { name: 'Daily cap', exact: true }).count()).toBe(0)

    await page.getByRole('region', { name: 'Notification targets of Nightly' }).getByText('https://hooks.slack.example').waitFor()
    await screenshot(page, 'settings')
    expect(errors).toEqual([])
  })

  it('says a module is not available when the server has no such API', async () => {
    const { page } = await signedInPage(browser, server)
    await page.route('**/api/costs/**', route => route.fulfill({
      status: 404, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: 'No route GET /api/costs/summary', details: {} } }),
    }))
    await page.goto(`${server.url}/costs`)
    await page.getByTestId('not-available').first().waitFor()
    await expect(page.getByTestId('not-available').count()).resolves.toBe(3)
    await expect(page.getByText('$', { exact: false }).count()).resolves.toBe(0)
    await screenshot(page, 'costs-not-available')
  })
})
