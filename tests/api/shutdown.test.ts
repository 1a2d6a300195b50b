/**
 * Graceful shutdown of the built server on SIGTERM: it stops accepting, finishes what it had
 * accepted, tells realtime clients `server_restarting`, checkpoints the database and exits
 * within 10 s — and every ingest it acknowledged is in the database afterwards.
 */
import { existsSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { api, mintTestToken, startServer, TEST_ADMIN_KEY, type TestServer, waitFor } from '../helpers/server'
import { WsClient } from '../helpers/ws-client'

let server: TestServer | undefined

afterEach(async () => {
  await server?.dispose()
  server = undefined
})

const message = (project: string, id: string) => ({
  kind: 'message', id, message_id: id, project_id: project, conversation_id: `${project}-conv`, sender: 'worker-1', recipient: 'marcus', content: `message ${id}`,
})

function sigterm(target: TestServer): Promise<{ code: number | null, ms: number }> {
  const child = target.child()!
  const started = Date.now()
  const exited = new Promise<{ code: number | null, ms: number }>(ok => child.once('exit', code => ok({ code, ms: Date.now() - started })))
  child.kill('SIGTERM')
  return exited
}

function storedIds(dataDir: string): Set<string> {
  const db = new Database(join(dataDir, 'seneca.db'), { readonly: true })
  try {
    return new Set((db.prepare('SELECT id FROM events').all() as { id: string }[]).map(r => r.id))
  }
  finally {
    db.close()
  }
}

describe('graceful shutdown', () => {
  it('loses nothing acknowledged when SIGTERM arrives during a steady ingest, and exits within 10 s', async () => {
    server = await startServer()
    const target = server
    const watcher = await WsClient.ready(target.port, await mintTestToken({ role: 'viewer', projects: ['steady'] }))
    await watcher.subscribe(['conversations'], { project_id: 'steady' })

    const acknowledged = new Set<string>()
    const refusals: { status: number, retryAfter: string | null, code: unknown }[] = []
    let unanswered = 0
    let running = true
    const writer = async (w: number) => {
      for (let batch = 0; running; batch++) {
        const events = Array.from({ length: 20 }, (_, i) => message('steady', `steady-${w}-${batch}-${i}`))
        try {
          const res = await fetch(`${target.url}/api/ingest`, {
            method: 'POST', headers: { 'authorization': `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }),
          })
          const body = await res.json() as any
          if (res.status === 200) {
            for (const r of body.results) if (r.status === 'stored') acknowledged.add(r.id)
          }
          else refusals.push({ status: res.status, retryAfter: res.headers.get('retry-after'), code: body?.error?.code })
        }
        catch {
          // Refused or cut off: not acknowledged, so the sender would retry.
          unanswered++
          await new Promise(r => setTimeout(r, 20))
        }
      }
    }
    const writers = Array.from({ length: 4 }, (_, w) => writer(w))
    await waitFor(() => acknowledged.size >= 1000, 20_000)

    const { code, ms } = await sigterm(target)
    running = false
    await Promise.all(writers)

    expect(code).toBe(0)
    expect(ms).toBeLessThan(10_000)
    // Whatever was refused during the drain was refused properly.
    for (const r of refusals) expect(r).toEqual({ status: 503, retryAfter: '2', code: 'SERVICE_UNAVAILABLE' })
    expect(unanswered + refusals.length).toBeGreaterThan(0)

    const notice = await watcher.next('server_restarting')
    expect(notice.data).toEqual({ reason: 'shutdown', latest_seq: expect.any(Number), retry_after_ms: 2000, server_time: expect.any(String) })
    expect((await watcher.closed).code).toBe(1012)
    // Events before the notice came in seq order.
    const seqs = watcher.seqs()
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)

    // The WAL was checkpointed into the database file, and every acknowledged event is in it.
    const wal = join(target.dataDir, 'seneca.db-wal')
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true)
    const ids = storedIds(target.dataDir)
    const missing = [...acknowledged].filter(id => !ids.has(id))
    expect(missing).toEqual([])
    expect(acknowledged.size).toBeGreaterThanOrEqual(1000)

    // And it starts again on the same data.
    await target.restart()
    const res = await api(target.url, '/api/events?project_id=steady&limit=1')
    expect(res.status).toBe(200)
  }, 60_000)

  it('finishes an ingest that was still arriving when SIGTERM came, and accepts no new connection meanwhile', async () => {
    server = await startServer()
    const target = server
    const events = [message('slow', 'slow-1'), message('slow', 'slow-2')]
    const body = JSON.stringify({ events })
    const half = Math.floor(body.length / 2)
    // Headers and half the body now, the rest after the signal.
    const answer = new Promise<{ status: number, body: any }>((ok, fail) => {
      const req = request(`${target.url}/api/ingest`, {
        method: 'POST', agent: false,
        headers: { 'authorization': `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d.toString()))
        res.on('end', () => ok({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
      })
      req.on('error', fail)
      req.write(body.slice(0, half))
      setTimeout(() => req.end(body.slice(half)), 1500)
    })
    await new Promise(r => setTimeout(r, 300))
    const exited = sigterm(target)
    await new Promise(r => setTimeout(r, 300))
    // The listener is closed: a new connection is refused.
    await expect(fetch(`${target.url}/health`)).rejects.toThrow()
    const res = await answer
    expect(res.status).toBe(200)
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['stored', 'stored'])
    const { code, ms } = await exited
    expect(code).toBe(0)
    expect(ms).toBeLessThan(10_000)
    const ids = storedIds(target.dataDir)
    expect(ids.has('slow-1') && ids.has('slow-2')).toBe(true)
  }, 30_000)
})
