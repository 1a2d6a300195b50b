/**
 * The dashboards in Chromium against the built server, with the session-a Marcus fixture
 * read through the log connector: every page shows real data without console errors, a
 * message ingested while a thread is open appears in it within a second, an agent going
 * silent turns unavailable on the grid, a command makes the round trip to the agent and
 * back, and the page reconnects after the server restarts. Screenshots of every page go
 * to tests/e2e/screenshots/.
 */
import { cpSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, watchErrors } from '../helpers/browser'
import { api, sessionA, startServer, tempDir, type TestServer, waitFor } from '../helpers/server'

const COORDINATOR = 'marcus:3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57:coordinator'
const HEARTBEAT_TIMEOUT_MS = 3000

let server: TestServer
let browser: Browser

async function signedIn(viewport = { width: 1280, height: 800 }, key = server.adminKey): Promise<{ page: Page, errors: string[] }> {
  const page = await browser.newPage({ viewport })
  const errors = watchErrors(page)
  await page.goto(`${server.url}/login#key=${key}`)
  await page.waitForURL(`${server.url}/`)
  return { page, errors }
}

async function live(page: Page) {
  await page.getByTestId('connection').getByText('live').waitFor()
}

function ingest(events: unknown[]) {
  return api(server.url, '/api/ingest', { method: 'POST', json: { events } })
}

beforeAll(async () => {
  const root = tempDir('seneca-e2e-marcus-')
  cpSync(sessionA, root, { recursive: true })
  server = await startServer({
    MARCUS_ROOT: root, SENECA_MARCUS_POLL_MS: '100',
    SENECA_HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS), SENECA_HEALTH_INTERVAL_MS: '500',
  })
  await waitFor(async () => {
    const { body } = await api(server.url, '/api/connectors')
    return body.connectors?.[0]?.caught_up && body.connectors[0].lines === 1475
  }, 30_000)
  await ingest([
    { kind: 'agent.registered', project_id: 'shop', agent_id: 'coder', name: 'Coder', type: 'backend', capabilities: ['python'] },
    { kind: 'message', id: 'live-0', project_id: 'shop', conversation_id: 'live-thread', conversation_title: 'Live thread', sender: 'planner', recipient: 'coder', message_type: 'request', content: 'First request of the live thread' },
  ])
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await server?.dispose()
})

describe('every page with the session-a Marcus fixture', () => {
  it('overview: counters, activity and health from the stored session', async () => {
    const { page, errors } = await signedIn()
    await live(page)
    await page.getByRole('group', { name: 'Open blockers' }).getByTestId('stat-value').filter({ hasText: /^\d+$/ }).waitFor()
    await page.getByTestId('activity-feed').getByText(/agent-(backend|frontend|database|testing)-01/).first().waitFor()
    await page.getByRole('region', { name: /System health/ }).getByText('following').waitFor()
    await expect(page.getByTestId('mode').textContent()).resolves.toMatch(/historical|live/)
    await page.getByRole('group', { name: 'Spend today' }).getByText(/cost tracking not available|\$\d/).waitFor()
    await screenshot(page, 'overview')
    expect(errors).toEqual([])
  })

  it('conversations: the list, the thread with tool calls, search and the communication graph', async () => {
    const { page, errors } = await signedIn()
    await page.getByRole('link', { name: 'Conversations' }).click()
    await page.getByTestId('conversation-list').getByText('Marcus (coordinator)').click()
    const thread = page.getByTestId('thread')
    // The thread opens at its newest messages.
    await thread.getByText('MCP tool \'report_task_progress\' succeeded').last().waitFor()
    await thread.getByText('MCP tool \'report_task_progress\' succeeded').last().click()
    await page.getByRole('article', { name: 'Message details' }).getByText('Tool calls').waitFor()
    await screenshot(page, 'conversation-thread')
    await page.getByRole('tab', { name: 'Communication graph' }).click()
    await page.getByRole('img', { name: /Communication graph/ }).waitFor()
    await page.getByRole('table').getByText('agent-backend-01').first().waitFor()
    await screenshot(page, 'conversation-graph')
    await page.getByRole('searchbox', { name: 'Search messages' }).fill('register_agent')
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    await page.getByRole('region', { name: 'Search results' }).getByText(/messages? match/).waitFor()
    await screenshot(page, 'conversation-search')
    expect(errors).toEqual([])
  })

  it('agents: the grid and an agent page with its queue, charts and history', async () => {
    const { page, errors } = await signedIn()
    await page.goto(`${server.url}/agents`)
    await page.getByTestId('agent-grid').getByText('Backend Agent 01').waitFor()
    await screenshot(page, 'agents')
    await page.getByTestId('agent-grid').getByText('Backend Agent 01').click()
    await page.getByRole('heading', { name: 'Backend Agent 01', level: 1 }).waitFor()
    await page.getByRole('region', { name: 'History' }).getByRole('table').waitFor()
    await page.getByRole('img', { name: 'Tasks completed per day' }).locator('canvas').waitFor()
    await screenshot(page, 'agent')
    expect(errors).toEqual([])
  })

  it('settings: API keys listed, one created and revoked', async () => {
    const { page, errors } = await signedIn()
    await page.goto(`${server.url}/settings`)
    const keys = page.getByRole('region', { name: 'API keys' })
    await keys.getByRole('cell', { name: 'first admin', exact: true }).waitFor()
    await keys.getByLabel('Name').fill('e2e reader')
    await keys.getByLabel('Role').selectOption('viewer')
    await keys.getByRole('button', { name: 'Create key' }).click()
    await expect(keys.getByTestId('new-key').textContent()).resolves.toMatch(/^sk_/)
    await keys.getByRole('button', { name: 'Revoke e2e reader' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click()
    await keys.getByRole('row', { name: /e2e reader/ }).getByText('revoked').waitFor()
    await screenshot(page, 'settings')
    expect(errors).toEqual([])
  })

  it('a viewer key sees every page without a refused request, and is told keys are for admins', async () => {
    const { body } = await api(server.url, '/api/keys', { method: 'POST', json: { name: 'e2e viewer', role: 'viewer', projects: ['*'] } })
    const { page, errors } = await signedIn(undefined, body.key)
    await page.getByTestId('activity-feed').waitFor()
    await page.goto(`${server.url}/settings`)
    await page.getByText('Only admins manage API keys').waitFor()
    for (const path of ['agents', 'conversations', 'projects', 'pipelines', 'costs', 'insights', 'context']) {
      await page.goto(`${server.url}/${path}`)
      await page.getByRole('heading', { level: 1 }).first().waitFor()
      await page.waitForLoadState('networkidle')
    }
    expect(errors).toEqual([])
  })

  it('every other page opens without console errors', async () => {
    const { page, errors } = await signedIn()
    for (const path of ['projects', 'pipelines', 'costs', 'insights', 'context']) {
      await page.goto(`${server.url}/${path}`)
      await page.getByRole('heading', { level: 1 }).first().waitFor()
      await page.waitForLoadState('networkidle')
      await screenshot(page, path)
    }
    expect(errors).toEqual([])
  })

  it('stays readable at tablet width', async () => {
    const { page, errors } = await signedIn({ width: 820, height: 1180 })
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Agents' }).waitFor()
    await screenshot(page, 'tablet-overview')
    await page.goto(`${server.url}/conversations/${encodeURIComponent(COORDINATOR)}`)
    await page.getByTestId('thread').getByText('MCP tool').first().waitFor()
    await screenshot(page, 'tablet-thread')
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    expect(errors).toEqual([])
  })
})

describe('live', () => {
  it('shows a message ingested while the thread is open within a second, without a reload', async () => {
    const { page, errors } = await signedIn()
    await page.goto(`${server.url}/conversations/live-thread`)
    await page.getByTestId('thread').getByText('First request of the live thread').waitFor()
    await live(page)
    await ingest([{ kind: 'message', id: 'live-1', project_id: 'shop', conversation_id: 'live-thread', sender: 'coder', recipient: 'planner', message_type: 'response', content: 'Answer streamed into the open thread', in_reply_to: 'live-0' }])
    await page.getByTestId('thread').getByText('Answer streamed into the open thread').waitFor({ timeout: 1000 })
    expect(errors).toEqual([])
  })

  it('holds new messages behind an "N new" pill while the reader is scrolled up', async () => {
    await ingest(Array.from({ length: 60 }, (_, i) => ({ kind: 'message', id: `pill-${i}`, project_id: 'shop', conversation_id: 'pill-thread', sender: 'planner', recipient: 'coder', content: `Earlier message ${i}` })))
    const { page, errors } = await signedIn()
    await page.goto(`${server.url}/conversations/pill-thread`)
    const thread = page.getByTestId('thread')
    await thread.getByText('Earlier message 59', { exact: true }).waitFor()
    await live(page)
    await thread.evaluate((el) => {
      el.scrollTop = 0
    })
    await thread.getByText('Earlier message 0', { exact: true }).waitFor()
    await ingest([{ kind: 'message', id: 'pill-new', project_id: 'shop', conversation_id: 'pill-thread', sender: 'coder', recipient: 'planner', content: 'Arrived while reading' }])
    await page.getByTestId('new-pill').getByText('1 new').waitFor({ timeout: 2000 })
    await expect(thread.evaluate(el => el.scrollTop)).resolves.toBe(0)
    await screenshot(page, 'conversation-new-pill')
    await page.getByTestId('new-pill').click()
    await thread.getByText('Arrived while reading').waitFor()
    expect(errors).toEqual([])
  })

  it('turns an agent that stops sending heartbeats unavailable on the grid', async () => {
    const { page, errors } = await signedIn()
    await ingest([
      { kind: 'agent.registered', project_id: 'shop', agent_id: 'pulse', name: 'Pulse', type: 'backend' },
      { kind: 'agent.heartbeat', project_id: 'shop', agent_id: 'pulse', status: 'active', load: 0.2 },
    ])
    await page.goto(`${server.url}/agents?project=shop`)
    const card = page.locator('[data-agent="pulse"]')
    await card.getByTestId('agent-status').getByText('active').waitFor()
    await live(page)
    await card.getByTestId('agent-status').getByText('unavailable').waitFor({ timeout: HEARTBEAT_TIMEOUT_MS + 5000 })
    await screenshot(page, 'agents-unavailable')
    expect(errors).toEqual([])
  })

  it('issues a command from the agent page and shows it acknowledged when the agent answers', async () => {
    const { page, errors } = await signedIn()
    await page.goto(`${server.url}/agents/coder`)
    await page.getByRole('heading', { name: 'Coder', level: 1 }).waitFor()
    await live(page)
    await page.getByRole('button', { name: 'Request status report' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Request status report' }).click()
    const status = page.getByTestId('command-status').first()
    await status.getByText(/pending|delivered/).waitFor()
    const { body } = await api(server.url, '/api/agents/coder/commands')
    const command = body.commands.find((c: any) => c.command === 'request_status_report')
    const ack = await api(server.url, `/api/agents/coder/commands/${command.command_id}/ack`, { method: 'POST', json: { status: 'acknowledged', result: { queue: 0 } } })
    expect(ack.status).toBeLessThan(300)
    await status.getByText('acknowledged').waitFor({ timeout: 5000 })
    await page.getByText('{"queue":0}').waitFor()
    await screenshot(page, 'agent-command-acknowledged')
    expect(errors).toEqual([])
  })

  it('reconnects after the server restarts and resumes the live feed', async () => {
    const { page } = await signedIn()
    await page.goto(`${server.url}/conversations/live-thread`)
    await page.getByTestId('thread').getByText('Answer streamed into the open thread').waitFor()
    await live(page)
    const sawReconnecting = page.getByTestId('connection').getByText(/reconnecting|offline/).waitFor({ timeout: 20_000 })
    await server.restart()
    await sawReconnecting
    // Written while the page may still be reconnecting: resume replays what it missed.
    await ingest([{ kind: 'message', id: 'live-2', project_id: 'shop', conversation_id: 'live-thread', sender: 'planner', recipient: 'coder', message_type: 'request', content: 'Sent across the restart' }])
    await live(page)
    await page.getByTestId('thread').getByText('Sent across the restart').waitFor({ timeout: 10_000 })
    await screenshot(page, 'reconnected')
  })
})
