/**
 * The Pipelines pages in Chromium: the list, a pipeline, and a run whose stage graph changes
 * colour live as the agent reports through /api/ingest; retry, cancel and execute with confirmation.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot } from '../helpers/browser'
import { signedInPage, startMarcusServer, waitLive } from '../helpers/dashboards'
import { api, type TestServer } from '../helpers/server'

let server: TestServer
let browser: Browser
/** The agent's own credential: stage reports come from it, not from the operator. */
let agentKey: string

async function report(stage: string, runId: string, status: string, extra: Record<string, unknown> = {}) {
  const res = await api(server.url, '/api/ingest', { method: 'POST', auth: agentKey, json: { events: [
    { kind: 'pipeline.stage.updated', project_id: 'ops', run_id: runId, stage_id: stage, status, agent_id: 'deployer', ...extra },
  ] } })
  expect(res.body.stored).toBe(1)
}

function node(page: Page, stage: string) {
  return page.getByTestId('pipeline-dag').locator(`[data-stage="${stage}"]`)
}

async function strokeOf(page: Page, stage: string): Promise<string> {
  return node(page, stage).locator('.box').evaluate(el => getComputedStyle(el).stroke)
}

async function themeColour(page: Page, variable: string): Promise<string> {
  // The variable resolved the way the browser paints it (rgb()).
  return page.evaluate((v) => {
    const probe = document.createElement('div')
    probe.style.color = `var(${v})`
    document.body.append(probe)
    const colour = getComputedStyle(probe).color
    probe.remove()
    return colour
  }, variable)
}

beforeAll(async () => {
  server = await startMarcusServer()
  const key = await api(server.url, '/api/keys', { method: 'POST', json: { name: 'deployer', role: 'ingest', projects: ['ops'] } })
  agentKey = key.body.key
  await api(server.url, '/api/ingest', { method: 'POST', json: { events: [
    { kind: 'agent.registered', project_id: 'ops', agent_id: 'deployer', name: 'Deployer', type: 'ops', capabilities: ['release'] },
    { kind: 'agent.heartbeat', project_id: 'ops', agent_id: 'deployer', load: 0.1 },
  ] } })
  const created = await api(server.url, '/api/pipelines', { method: 'POST', json: {
    id: 'release', project_id: 'ops', name: 'Release', description: 'Build, test and ship',
    stages: [
      { id: 'build', name: 'Build', agent_id: 'deployer' },
      { id: 'test', name: 'Test', capability: 'release', depends_on: ['build'] },
      { id: 'docs', name: 'Docs', capability: 'release', depends_on: ['build'] },
      { id: 'ship', name: 'Ship', agent_id: 'deployer', depends_on: ['test', 'docs'] },
    ],
    notification_targets: { webhook: { url: 'http://127.0.0.1:9/hook', secret: 'a-webhook-secret-of-some-length' } },
  } })
  expect(created.status).toBe(201)
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await server?.dispose()
})

describe('pipelines in Chromium', () => {
  it('colours a run\'s stages live as the agent reports them, retries a failed stage and cancels the run', async () => {
    const run = (await api(server.url, '/api/pipelines/release/execute', { method: 'POST', json: { trigger: 'e2e' } })).body
    const { page, errors } = await signedInPage(browser, server)
    await page.goto(`${server.url}/pipelines/release/runs/${run.id}`)
    await waitLive(page)
    await expect.poll(() => node(page, 'build').getAttribute('data-status')).toBe('running')
    const running = await strokeOf(page, 'build')
    expect(running).toBe(await themeColour(page, '--accent'))
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1))

    await report('build', run.id, 'completed')
    await expect.poll(() => node(page, 'build').getAttribute('data-status'), { timeout: 3000 }).toBe('completed')
    // The colour eases over 300 ms.
    await expect.poll(() => strokeOf(page, 'build')).toBe(await themeColour(page, '--ok'))
    expect(await strokeOf(page, 'build')).not.toBe(running)
    // Seneca starts what the finished stage unblocked.
    await expect.poll(() => node(page, 'test').getAttribute('data-status'), { timeout: 3000 }).toBe('running')
    await screenshot(page, 'pipeline-run')

    await report('docs', run.id, 'completed')
    await report('test', run.id, 'failed', { error: 'integration suite red' })
    await expect.poll(() => node(page, 'test').getAttribute('data-status'), { timeout: 3000 }).toBe('failed')
    await expect.poll(() => strokeOf(page, 'test')).toBe(await themeColour(page, '--bad'))
    await expect.poll(() => node(page, 'ship').getAttribute('data-status'), { timeout: 3000 }).toBe('skipped')
    await page.getByText('integration suite red').waitFor()

    await page.getByRole('button', { name: 'Retry Test' }).click()
    const dialog = page.getByRole('dialog', { name: 'Retry stage test?' })
    await dialog.getByRole('button', { name: 'Retry' }).click()
    await page.getByRole('status').filter({ hasText: 'Stage test queued again.' }).waitFor()
    await expect.poll(() => node(page, 'test').getAttribute('data-status'), { timeout: 3000 }).toBe('running')

    await page.getByRole('button', { name: 'Cancel run' }).click()
    await page.getByRole('dialog', { name: 'Cancel this run?' }).getByRole('button', { name: 'Cancel run' }).click()
    await page.getByRole('status').filter({ hasText: 'Run cancelled.' }).waitFor()
    await expect.poll(() => node(page, 'test').getAttribute('data-status'), { timeout: 3000 }).toBe('cancelled')
    await expect(page.evaluate(() => (window as unknown as { marker?: number }).marker)).resolves.toBe(1)
    expect(errors).toEqual([])
  })

  it('lists pipelines and executes one from its page after confirmation', async () => {
    const { page, errors } = await signedInPage(browser, server)
    await page.goto(`${server.url}/pipelines`)
    const row = page.getByTestId('pipeline-row').filter({ hasText: 'Release' })
    await row.waitFor()
    const { body: listed } = await api(server.url, '/api/pipelines')
    await expect(row.getByTestId('pipeline-status').textContent()).resolves.toBe(listed.pipelines.find((p: { id: string }) => p.id === 'release').status)
    await screenshot(page, 'pipelines')
    await row.getByRole('link', { name: 'Release' }).click()
    await page.getByRole('heading', { name: 'Release', level: 1 }).waitFor()
    await page.getByText('http://127.0.0.1:9/hook').waitFor()
    await page.getByTestId('pipeline-dag').waitFor()
    await screenshot(page, 'pipeline')
    await page.getByRole('button', { name: 'Execute' }).click()
    await page.getByRole('dialog', { name: 'Execute Release?' }).getByRole('button', { name: 'Execute' }).click()
    await page.waitForURL(/\/pipelines\/release\/runs\/run_/)
    const runId = page.url().split('/').pop()!
    await expect.poll(() => node(page, 'build').getAttribute('data-status')).toBe('running')
    const { body } = await api(server.url, `/api/pipelines/release/runs/${runId}`)
    expect(body.trigger).toBe('manual')
    expect(errors).toEqual([])
  })
})
