import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, watchErrors } from '../helpers/browser'
import { api, mintTestToken, startServer, type TestServer } from '../helpers/server'

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
  it('signs in with the first-start URL, keeps the session across a reload, and signs out', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    const errors = watchErrors(page)
    await page.goto(`${server.url}/login#key=${server.adminKey}`)
    await page.waitForURL(`${server.url}/`)
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor()
    await page.getByRole('group', { name: 'Conversations' }).getByText('1', { exact: true }).waitFor()
    await screenshot(page, 'signed-in')
    await page.reload()
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor()
    expect(page.url()).toBe(`${server.url}/`)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${server.url}/login`)
    await page.goto(`${server.url}/agents`)
    await page.waitForURL(`${server.url}/login`)
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

  it('sends an expired token back to sign-in', async () => {
    const page = await browser.newPage()
    const token = await mintTestToken({ expiresIn: '3s' })
    await page.goto(`${server.url}/login`)
    await page.getByLabel('API key or token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${server.url}/`)
    await new Promise(r => setTimeout(r, 3500))
    await page.goto(`${server.url}/agents`)
    await page.waitForURL(/\/login\?expired=1$/)
    await page.getByText('Your session has expired').waitFor()
    await screenshot(page, 'sign-in-expired')
  })
})
