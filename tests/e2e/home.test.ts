import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, watchErrors } from '../helpers/browser'
import { startServer, type TestServer } from '../helpers/server'

let server: TestServer
let browser: Browser

beforeAll(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await server?.dispose()
})

describe('first visit in Chromium', () => {
  it('asks for a key, then shows the system health of the running server without console errors', async () => {
    const page = await browser.newPage()
    const errors = watchErrors(page)
    await page.goto(server.url)
    await page.waitForURL(`${server.url}/login`)
    await page.getByRole('heading', { name: 'Sign in to Seneca', level: 1 }).waitFor()
    await page.getByLabel('API key or token').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    const health = page.getByRole('region', { name: /System health/ })
    await health.getByText('healthy', { exact: true }).first().waitFor()
    await expect(health.getByText('database').isVisible()).resolves.toBe(true)
    await screenshot(page, 'home')
    expect(errors).toEqual([])
  })
})
