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

describe('home page in Chromium', () => {
  it('shows the system health from the running server without console errors', async () => {
    const page = await browser.newPage()
    const errors = watchErrors(page)
    await page.goto(server.url)
    await expect(page.getByRole('heading', { name: 'Seneca', level: 1 }).isVisible()).resolves.toBe(true)
    await page.getByText('database: healthy').waitFor()
    await screenshot(page, 'home')
    expect(errors).toEqual([])
  })
})
