#!/usr/bin/env node
/**
 * The dashboards in Debian's Chromium (playwright-core, CHROMIUM_PATH or /usr/bin/chromium)
 * against the built server holding the session-a Marcus fixture plus one conversation of
 * BENCH_DASH_MESSAGES (100,000) messages.
 *
 * - First load of each page: a fresh browser context (empty cache, credential already in
 *   local storage), navigation start → the page's own content on screen ("usable": a
 *   selector per page, checked every animation frame). Target ≤ 1.5 s each.
 * - JS shipped for the first page (Overview): every script the browser fetched, gzip-compressed
 *   here (level 6), idle prefetches of other pages' chunks included (and reported apart).
 *   Target ≤ 400 kB; the ECharts chunk must not be among them.
 * - Thread at 100,000 messages: every page of the conversation is pulled in by scrolling up,
 *   then the thread is scrolled top to bottom and back in BENCH_DASH_SCROLL_STEPS (300)
 *   frames with a `longtask` PerformanceObserver watching. Target: no long task over 50 ms
 *   while scrolling (long tasks while pages load are reported too).
 *
 * Baseline, same run and browser: a bare HTML page from a bare node:http server (first load
 * to its heading), and the same scroll over a plain 7.2-million-pixel div.
 */
import { cpSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { authHeaders, envInt, freePort, log, machine, postJson, report, repoRoot, round, sleep, startServer, tempDir } from './lib.mjs'

const require = createRequire(import.meta.url)
const { chromium } = require('playwright-core')

const MESSAGES = envInt('BENCH_DASH_MESSAGES', 100_000)
const STEPS = envInt('BENCH_DASH_SCROLL_STEPS', 300)
const ROUNDS = Math.max(1, envInt('BENCH_DASH_ROUNDS', 3))
const THREAD = 'bench-thread'
const COORDINATOR = 'marcus:3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57:coordinator'
const TARGETS = { page_load_ms: 1500, first_page_js_gzip_kb: 400, scroll_long_task_ms: 50 }

/** Pages and the selector that says each is usable (its own data on screen). */
const PAGES = [
  { path: '/', ready: '[data-testid=activity-feed] li' },
  { path: '/conversations', ready: '[data-testid=conversation-list] li' },
  { path: `/conversations/${encodeURIComponent(COORDINATOR)}`, ready: '[data-testid=thread] [data-message-id]' },
  { path: `/conversations/${THREAD}`, ready: '[data-testid=thread] [data-message-id]' },
  { path: '/agents', ready: '[data-testid=agent-grid] a' },
  { path: '/agents/agent-backend-01', ready: '#history-title ~ table tbody tr' },
  { path: '/settings', ready: '#keys-title ~ table tbody tr' },
  // Pages whose content other modules provide: usable once the heading is up and nothing is loading.
  ...['/projects', '/pipelines', '/costs', '/insights', '/context'].map(path => ({ path, ready: 'main h1', idle: true })),
]

function messageAt(i) {
  return {
    kind: 'message', message_id: `bt-${i}`, project_id: 'bench', conversation_id: THREAD, conversation_title: 'Bench thread',
    sender: i % 2 ? 'coder' : 'planner', recipient: i % 2 ? 'planner' : 'coder', message_type: i % 50 === 0 ? 'error' : i % 2 ? 'response' : 'request',
    content: `Message ${i}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 5))}`, ts: Date.UTC(2026, 2, 1) + i * 1000,
    metadata: i % 7 === 0 ? { tool_calls: ['run_tests'], execution_time: 1.5 } : {},
  }
}

async function seed(url, headers) {
  const batch = 5000
  for (let from = 0; from < MESSAGES; from += batch) {
    const events = []
    for (let i = from; i < Math.min(MESSAGES, from + batch); i++) events.push(messageAt(i))
    const res = await postJson(`${url}/api/ingest`, JSON.stringify({ events }), { headers })
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${res.text.slice(0, 300)}`)
    if ((from / batch) % 5 === 0) log(`seeded ${from + events.length}/${MESSAGES} messages`)
  }
}

async function waitForConnector(url, headers) {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/api/connectors`, { headers })
    const body = await res.json()
    if (body.connectors?.[0]?.caught_up) return
    await sleep(200)
  }
  throw new Error('the Marcus connector did not catch up within 120 s')
}

/** Navigation start → `ready` matched (checked every frame), in a fresh context. */
async function firstLoad(browser, base, page, credential) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  if (credential) await context.addInitScript(c => localStorage.setItem('seneca.credential', c), credential)
  const tab = await context.newPage()
  const scripts = []
  tab.on('response', (res) => {
    if (res.request().resourceType() !== 'script') return
    scripts.push((async () => {
      // Nuxt also prefetches other pages' chunks at idle (`<link rel=prefetch>`, sent with Sec-Purpose: prefetch).
      const prefetch = /prefetch/i.test((await res.request().allHeaders())['sec-purpose'] ?? '')
      const b = await res.body()
      return { url: res.url(), bytes: b.length, gzip: gzipSync(b, { level: 6 }).length, prefetch }
    })().catch(() => null))
  })
  await tab.goto(base + page.path, { waitUntil: 'commit' })
  await tab.waitForFunction(({ ready, idle }) => {
    const el = document.querySelector(ready)
    if (!el || (idle && document.querySelector('.loading'))) return false
    window.__usableAt ??= performance.now()
    return true
  }, page, { polling: 'raf', timeout: 30_000 })
  const ms = await tab.evaluate(() => window.__usableAt)
  const loaded = (await Promise.all(scripts)).filter(Boolean)
  await context.close()
  return { ms, scripts: loaded }
}

/** Scrolls `selector` from bottom to top and back in `steps` frames; long tasks seen meanwhile. */
async function scrollWatch(tab, selector, steps) {
  return tab.evaluate(async ({ selector, steps }) => {
    const el = document.querySelector(selector)
    const tasks = []
    const observer = new PerformanceObserver(list => tasks.push(...list.getEntries().map(e => e.duration)))
    observer.observe({ type: 'longtask' })
    const frame = () => new Promise(r => requestAnimationFrame(() => r()))
    const max = el.scrollHeight - el.clientHeight
    const t0 = performance.now()
    for (let i = 0; i <= steps; i++) {
      const f = i / steps
      el.scrollTop = f <= 0.5 ? max * (1 - 2 * f) : max * (2 * f - 1)
      await frame()
    }
    await frame()
    observer.disconnect()
    return { frames: steps + 1, ms: performance.now() - t0, long_tasks: tasks.length, max_long_task_ms: tasks.length ? Math.max(...tasks) : 0 }
  }, { selector, steps })
}

async function bareServer() {
  const port = await freePort()
  const page = `<!doctype html><html><head><title>bare</title></head><body><h1 id="ready">Bare page</h1>
    <div id="scroller" style="height:600px;overflow-y:auto"><div style="height:${MESSAGES * 60}px;background:linear-gradient(#eee,#ccc)"></div></div></body></html>`
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(page) })
    res.end(page)
  })
  await new Promise(ok => srv.listen(port, '127.0.0.1', ok))
  return { url: `http://127.0.0.1:${port}`, close: () => srv.close() }
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  const marcus = tempDir('seneca-bench-marcus-')
  cpSync(join(repoRoot, '../shared/fixtures/marcus/session-a'), marcus, { recursive: true })
  const server = await startServer({ env: { MARCUS_ROOT: marcus, SENECA_MARCUS_POLL_MS: '100' } })
  const headers = await authHeaders()
  const credential = headers.authorization?.slice('Bearer '.length)
  const bare = await bareServer()
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
  try {
    log('waiting for the Marcus connector')
    await waitForConnector(server.url, headers)
    log(`seeding ${MESSAGES} messages into one conversation`)
    await seed(server.url, headers)

    // Warm the server's caches (the browser's stay cold: a fresh context per load).
    for (const page of PAGES) await firstLoad(browser, server.url, page, credential)

    const pages = []
    for (const page of PAGES) {
      const runs = []
      for (let r = 0; r < ROUNDS; r++) runs.push((await firstLoad(browser, server.url, page, credential)).ms)
      pages.push({ path: decodeURIComponent(page.path), usable_ms: round(median(runs)), runs_ms: runs.map(x => round(x)), pass: median(runs) <= TARGETS.page_load_ms })
      log(`${page.path}: ${round(median(runs))} ms`)
    }
    const bareRuns = []
    for (let r = 0; r < ROUNDS; r++) bareRuns.push((await firstLoad(browser, bare.url, { path: '/', ready: '#ready' })).ms)

    const first = await firstLoad(browser, server.url, PAGES[0], credential)
    const jsGzipKb = first.scripts.reduce((s, x) => s + x.gzip, 0) / 1024
    const prefetchedKb = first.scripts.filter(x => x.prefetch).reduce((s, x) => s + x.gzip, 0) / 1024
    const largest = [...first.scripts].sort((a, b) => b.gzip - a.gzip).slice(0, 5).map(s => ({ file: s.url.split('/').pop(), gzip_kb: round(s.gzip / 1024) }))
    const chartsOnFirstPage = await (async () => {
      // The ECharts chunk is the one the agent page loads on top of the first page's scripts.
      const agent = await firstLoad(browser, server.url, { path: '/agents/agent-backend-01', ready: '[role=img] canvas' }, credential)
      const firstFiles = new Set(first.scripts.map(s => s.url))
      const extra = agent.scripts.filter(s => !firstFiles.has(s.url)).sort((a, b) => b.gzip - a.gzip)[0]
      return { chart_chunk: extra ? { file: extra.url.split('/').pop(), gzip_kb: round(extra.gzip / 1024) } : null, loaded_on_first_page: !extra }
    })()

    // Thread at 100,000 messages.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    await context.addInitScript(c => localStorage.setItem('seneca.credential', c), credential)
    const tab = await context.newPage()
    await tab.goto(`${server.url}/conversations/${THREAD}`)
    await tab.waitForSelector('[data-testid=thread] [data-message-id]')
    const loadStart = performance.now()
    const loadTasks = await tab.evaluate(async (total) => {
      const tasks = []
      const observer = new PerformanceObserver(list => tasks.push(...list.getEntries().map(e => e.duration)))
      observer.observe({ type: 'longtask' })
      const el = document.querySelector('[data-testid=thread]')
      const count = () => Number((document.querySelector('[data-testid=thread-count]')?.textContent ?? '0').replace(/\D.*$/, ''))
      const deadline = performance.now() + 300_000
      while (count() < total && performance.now() < deadline) {
        el.scrollTop = 0
        el.dispatchEvent(new Event('scroll'))
        await new Promise(r => setTimeout(r, 30))
      }
      observer.disconnect()
      return { loaded: count(), long_tasks: tasks.length, max_long_task_ms: tasks.length ? Math.max(...tasks) : 0 }
    }, MESSAGES)
    const loadAllMs = performance.now() - loadStart
    log(`thread holds ${loadTasks.loaded} messages after ${round(loadAllMs)} ms`)
    const scroll = await scrollWatch(tab, '[data-testid=thread]', STEPS)
    await context.close()

    const bareTab = await browser.newPage()
    await bareTab.goto(bare.url)
    const bareScroll = await scrollWatch(bareTab, '#scroller', STEPS)
    await bareTab.close()

    const result = {
      benchmark: 'dashboard',
      targets: TARGETS,
      pages,
      baseline_bare_page_ms: round(median(bareRuns)),
      first_page_js: { gzip_kb: round(jsGzipKb), of_which_prefetched_gzip_kb: round(prefetchedKb), scripts: first.scripts.length, largest, ...chartsOnFirstPage, pass: jsGzipKb <= TARGETS.first_page_js_gzip_kb && !chartsOnFirstPage.loaded_on_first_page },
      thread: {
        messages: loadTasks.loaded,
        load_all_pages_ms: round(loadAllMs),
        long_tasks_while_loading: { count: loadTasks.long_tasks, max_ms: round(loadTasks.max_long_task_ms) },
        scroll: { ...scroll, ms: round(scroll.ms), max_long_task_ms: round(scroll.max_long_task_ms), pass: scroll.max_long_task_ms <= TARGETS.scroll_long_task_ms && loadTasks.loaded >= MESSAGES },
        baseline_scroll: { ...bareScroll, ms: round(bareScroll.ms), max_long_task_ms: round(bareScroll.max_long_task_ms) },
      },
      machine: machine(),
    }
    result.passed = pages.every(p => p.pass) && result.first_page_js.pass && result.thread.scroll.pass
    report(result)
  }
  finally {
    await browser.close()
    bare.close()
    await server.stop()
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`)
  process.exit(1)
})
