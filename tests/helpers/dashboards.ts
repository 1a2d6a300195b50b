/**
 * Browser tests of the dashboards against a server loaded with the session-a Marcus fixture
 * through the log connector: start it, wait until every line is read, open signed-in pages.
 */
import { cpSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { watchErrors } from './browser'
import { api, sessionA, startServer, tempDir, type TestServer, waitFor } from './server'

/** The project Marcus works on in session-a. */
export const MARCUS_PROJECT = '3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57'
const FIXTURE_LINES = 1475

export async function startMarcusServer(env: Record<string, string> = {}): Promise<TestServer> {
  const root = tempDir('seneca-marcus-')
  cpSync(sessionA, root, { recursive: true })
  const server = await startServer({ MARCUS_ROOT: root, SENECA_MARCUS_POLL_MS: '100', ...env })
  await waitFor(async () => {
    const { body } = await api(server.url, '/api/connectors')
    const c = body.connectors?.[0]
    return c?.caught_up && c.lines === FIXTURE_LINES
  }, 60_000)
  return server
}

/** A page at 1280×800, signed in with the server's admin key, collecting console errors. */
export async function signedInPage(browser: Browser, server: TestServer, viewport = { width: 1280, height: 800 }): Promise<{ page: Page, errors: string[] }> {
  const page = await browser.newPage({ viewport })
  const errors = watchErrors(page)
  await page.addInitScript((key) => {
    if (!localStorage.getItem('seneca.credential')) localStorage.setItem('seneca.credential', key)
  }, server.adminKey)
  return { page, errors }
}

/** Resolves once the dashboards' WebSocket says `live`. */
export async function waitLive(page: Page) {
  await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor()
}
