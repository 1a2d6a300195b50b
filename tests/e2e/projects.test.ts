/**
 * The Projects pages in Chromium, against session-a read by the Marcus log connector: the list
 * with progress, risk and team; a project's workflow with the critical path, burndown,
 * blockers and decisions; live changes without a reload.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot } from '../helpers/browser'
import { MARCUS_PROJECT, signedInPage, startMarcusServer, waitLive } from '../helpers/dashboards'
import { api, type TestServer } from '../helpers/server'

let server: TestServer
let browser: Browser

beforeAll(async () => {
  server = await startMarcusServer()
  // A project from a template has staged tasks with dependencies: a workflow with more than one stage.
  const created = await api(server.url, '/api/projects', { method: 'POST', json: { id: 'shop', name: 'Shop', template: 'web_app' } })
  expect(created.status).toBe(201)
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await server?.dispose()
})

describe('projects in Chromium', () => {
  it('lists the Marcus project with its progress, risk and team', async () => {
    const { page, errors } = await signedInPage(browser, server)
    await page.goto(`${server.url}/projects`)
    const row = page.getByTestId('project-row').filter({ hasText: 'Task Master Test' })
    await row.waitFor()
    await expect(row.getByRole('progressbar').getAttribute('aria-valuenow')).resolves.toBe('76')
    await expect(row.textContent()).resolves.toContain('19 / 25 done')
    // Risk moves as the health monitor marks silent agents: the page shows what the API says now.
    const { body } = await api(server.url, '/api/projects')
    const risk = body.projects.find((p: { id: string }) => p.id === MARCUS_PROJECT).health.risk_level
    await expect.poll(() => row.getByTestId('risk').textContent()).toBe(`${risk} risk`)
    await expect(row.textContent()).resolves.toContain('Backend Developer')
    await page.getByTestId('project-row').filter({ hasText: 'Shop' }).waitFor()
    await screenshot(page, 'projects')
    expect(errors).toEqual([])
  })

  it('shows the project\'s workflow, burndown, blockers and decisions from the fixture', async () => {
    const { page, errors } = await signedInPage(browser, server)
    await page.goto(`${server.url}/projects`)
    await page.getByRole('link', { name: 'Task Master Test' }).click()
    await page.getByRole('heading', { name: 'Task Master Test', level: 1 }).waitFor()
    const graph = page.getByTestId('workflow-graph')
    await graph.waitFor()
    // Session-a's dependencies (from get_task_context) give four levels; the critical path starts in the first.
    await expect(graph.locator('[data-stage="level-1"]').getAttribute('class')).resolves.toContain('critical')
    await page.getByRole('cell', { name: 'Build app layout and navigation shell critical path' }).waitFor()
    await page.getByRole('img', { name: /^Burndown: 6 of 25 tasks open/ }).waitFor()
    await page.getByTestId('blocker').filter({ hasText: 'PATCH /api/tasks/:id returns 500' }).waitFor()
    await expect(page.getByTestId('decision').count()).resolves.toBe(20)
    await page.getByRole('heading', { name: /Decisions \(34\)/ }).waitFor()
    await page.waitForTimeout(500)
    await screenshot(page, 'project')
    expect(errors).toEqual([])
  })

  it('highlights the critical path through a staged workflow and follows new blockers live', async () => {
    const { page, errors } = await signedInPage(browser, server)
    await page.goto(`${server.url}/projects/shop`)
    await waitLive(page)
    const graph = page.getByTestId('workflow-graph')
    await graph.waitFor()
    const { body: workflow } = await api(server.url, '/api/projects/shop/workflow')
    expect(workflow.stages.length).toBeGreaterThan(2)
    // A wide graph scrolls inside its card; the page itself fits 1280 px.
    await expect(page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).resolves.toBeLessThanOrEqual(0)
    for (const stage of workflow.stages) {
      const cls = await graph.locator(`[data-stage="${stage.id}"]`).getAttribute('class')
      expect(cls?.includes('critical')).toBe(workflow.critical_path.includes(stage.id))
    }
    // Keyboard: a stage is focusable and Enter lists its tasks.
    const last = workflow.stages.at(-1)
    await graph.locator(`[data-stage="${last.id}"]`).focus()
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: new RegExp(`^${last.name}: ${last.tasks} tasks`) }).waitFor()

    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1))
    const task = workflow.stages[0].task_ids[0]
    await api(server.url, '/api/ingest', { method: 'POST', json: { events: [
      { kind: 'blocker.reported', project_id: 'shop', task_id: task, severity: 'critical', description: 'staging database is read-only' },
    ] } })
    await page.getByTestId('blocker').filter({ hasText: 'staging database is read-only' }).waitFor({ timeout: 5000 })
    await expect(page.evaluate(() => (window as unknown as { marker?: number }).marker)).resolves.toBe(1)
    await screenshot(page, 'project-workflow')
    expect(errors).toEqual([])
  })

  it('is readable at tablet width', async () => {
    const { page, errors } = await signedInPage(browser, server, { width: 820, height: 1180 })
    await page.goto(`${server.url}/projects/${MARCUS_PROJECT}`)
    await page.getByTestId('workflow-graph').waitFor()
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    await screenshot(page, 'project-tablet')
    expect(errors).toEqual([])
  })
})
