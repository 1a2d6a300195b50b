import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, watchErrors } from '../helpers/browser'
import { api, startServer, type TestServer } from '../helpers/server'

let server: TestServer
let browser: Browser

beforeAll(async () => {
  server = await startServer()
  await api(server.url, '/api/ingest', { method: 'POST', json: { events: [
    { kind: 'agent.registered', project_id: 'shop', agent_id: 'coder', name: 'Coder' },
    { kind: 'message', project_id: 'shop', sender: 'coder', recipient: 'planner', content: 'ready' },
  ] } })
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await server?.dispose()
})

describe('sign-in in Chromium', () => {
  it('signs in with the first-start URL, shows stored data, and signs out', async () => {
    const page = await browser.newPage()
    const errors = watchErrors(page)
    await page.goto(`${server.url}/login#key=${server.adminKey}`)
    await page.waitForURL(`${server.url}/`)
    await page.getByText('Coder: idle').waitFor()
    await expect(page.getByText(/events, 1 messages, 1 agents/).isVisible()).resolves.toBe(true)
    await screenshot(page, 'signed-in')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('link', { name: 'Sign in' }).waitFor()
    expect(errors).toEqual([])
  })

  it('says why a wrong key is refused', async () => {
    const page = await browser.newPage()
    await page.goto(`${server.url}/login`)
    await page.getByLabel('API key or token').fill('sk_wrong_key_000000000000000000000')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Unknown API key')
    await screenshot(page, 'sign-in-refused')
  })
})
