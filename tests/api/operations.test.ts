/**
 * Operating a running server: configuration refused at start, online backups over HTTP while
 * ingest goes on, retention (rollups kept, full-text index in step, realtime clients told to
 * resync), vacuum, and the database figures on /metrics.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { backupCreatedResponse, backupListResponse, maintenanceResponse } from '../../shared/operations'
import { api, freePort, mintTestToken, serverEntry, startServer, tempDir, type TestServer, waitFor } from '../helpers/server'

const DAY = 86_400_000

const message = (id: string, over: Record<string, unknown> = {}) => ({
  kind: 'message', id, project_id: 'shop', conversation_id: 'ops', sender: 'planner', recipient: 'coder', message_type: 'request', content: `content of ${id}`, ...over,
})

async function metric(server: TestServer, name: string): Promise<number> {
  const text = (await api(server.url, '/metrics')).body as string
  const line = text.split('\n').find(l => l.startsWith(name))
  return line ? Number(line.split(' ').at(-1)) : Number.NaN
}

describe('configuration checked at start', () => {
  it('stops the built server on a bad value with a one-line reason and exit code 78', async () => {
    for (const [name, value, reason] of [
      ['SENECA_RATE_LIMIT_PER_MINUTE', 'lots', 'SENECA_RATE_LIMIT_PER_MINUTE must be a whole number ≥ 1 (got "lots")'],
      ['SENECA_RETENTION_MESSAGES', '90', 'SENECA_RETENTION_MESSAGES must be off or an age with a unit, e.g. 90d, 12h, 30m (got "90")'],
      ['REDIS_URL', 'localhost:6379', 'REDIS_URL must be a URL (redis:// or rediss://…)'],
    ] as const) {
      const child = spawn(process.execPath, [serverEntry], {
        cwd: tempDir('seneca-cwd-'),
        env: { ...process.env, HOST: '127.0.0.1', PORT: String(await freePort()), SENECA_DATA_DIR: tempDir(), [name]: value },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
      const code = await new Promise<number | null>(ok => child.once('exit', ok))
      expect(code, output).toBe(78)
      expect(output.trim()).toBe(`[seneca] configuration error: ${reason}`)
    }
  })
})

describe('backups over HTTP', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(async () => {
    await server?.dispose()
  })

  it('makes a consistent copy while ingest goes on, lists it and serves it for download', async () => {
    let writing = true
    let sent = 0
    const writer = (async () => {
      while (writing) await api(server.url, '/api/ingest', { method: 'POST', json: { events: Array.from({ length: 200 }, () => message(`b-${sent++}`)) } })
    })()
    await waitFor(() => sent > 1000)
    const created = await api(server.url, '/api/admin/backups', { method: 'POST' })
    writing = false
    await writer
    expect(created.status).toBe(201)
    const backup = backupCreatedResponse.parse(created.body)
    expect(backup.path).toBe(`${server.dataDir}/backups/${backup.name}`)

    const copy = new Database(backup.path, { readonly: true })
    const log = copy.prepare('SELECT count(*) AS n, max(seq) - min(seq) + 1 AS span FROM events').get() as { n: number, span: number }
    const events = (copy.prepare(`SELECT count(*) AS n FROM events WHERE kind = 'message'`).get() as { n: number }).n
    const messages = (copy.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n
    const counted = (copy.prepare(`SELECT message_count AS n FROM conversations WHERE id = 'ops'`).get() as { n: number }).n
    copy.close()
    expect(log.n).toBe(log.span)
    expect(messages).toBe(events)
    expect(counted).toBe(messages)
    expect(messages).toBeGreaterThan(1000)

    const audit = (await api(server.url, '/api/audit?action=backup.')).body.entries
    expect(audit[0]).toMatchObject({ action: 'backup.created', target: backup.name, result: 'success' })

    const listed = backupListResponse.parse((await api(server.url, '/api/admin/backups')).body)
    expect(listed.backups[0]).toEqual({ name: backup.name, bytes: backup.bytes, created_at: backup.created_at })

    const download = await fetch(server.url + backup.download, { headers: { authorization: `Bearer ${server.adminKey}` } })
    expect(download.status).toBe(200)
    expect(download.headers.get('content-type')).toBe('application/vnd.sqlite3')
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${backup.name}"`)
    expect(Buffer.from(await download.arrayBuffer()).equals(readFileSync(backup.path))).toBe(true)
  })

  it('is for admins only, and names nothing outside the backups folder', async () => {
    const member = await mintTestToken({ role: 'member', projects: ['*'] })
    expect((await api(server.url, '/api/admin/backups', { method: 'POST', auth: member })).status).toBe(403)
    expect((await api(server.url, '/api/admin/backups', { auth: member })).status).toBe(403)
    expect((await api(server.url, '/api/admin/maintenance', { method: 'POST', auth: member })).status).toBe(403)
    expect((await api(server.url, '/api/admin/backups', { auth: false })).status).toBe(401)
    expect((await api(server.url, '/api/admin/backups/seneca-missing.db')).body.error.code).toBe('NOT_FOUND')
    expect((await api(server.url, '/api/admin/backups/..%2Fseneca.db')).status).toBe(400)
  })
})

describe('retention', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ SENECA_RETENTION_MESSAGES: '30d', SENECA_RETENTION_BATCH: '500', SENECA_VACUUM: 'incremental' })
  })
  afterAll(async () => {
    await server?.dispose()
  })

  it('deletes old messages, keeps analytics answering from rollups and search in step, and frees the space', async () => {
    const old = Date.now() - 100 * DAY
    const bulky = 'x'.repeat(1000)
    for (let i = 0; i < 3; i++) {
      await api(server.url, '/api/ingest', { method: 'POST', json: { events: Array.from({ length: 1000 }, (_, j) => message(`old-${i}-${j}`, { conversation_id: 'old', ts: old + i * 1000 + j, content: `ancient ${bulky}` })) } })
    }
    await api(server.url, '/api/ingest', { method: 'POST', json: { events: [message('new-1', { conversation_id: 'old', content: 'recent words' })] } })
    await waitFor(async () => (await api(server.url, '/api/conversations/search?q=ancient&limit=1')).body.total === 3000)
    const since = new Date(old - DAY).toISOString()
    const analyticsBefore = (await api(server.url, `/api/conversations/analytics?since=${since}`)).body
    expect(analyticsBefore.total_messages).toBe(3001)
    const sizeBefore = await metric(server, 'database_size_bytes')

    const res = await api(server.url, '/api/admin/maintenance', { method: 'POST' })
    expect(res.status).toBe(200)
    const report = maintenanceResponse.parse(res.body)
    expect(report.deleted).toEqual({ messages: 3000, events: 0, cost_events: 0 })
    expect(report.vacuum).toBe('incremental')

    expect((await api(server.url, `/api/conversations/analytics?since=${since}`)).body.total_messages).toBe(3001)
    expect((await api(server.url, '/api/conversations/old/messages')).body.messages.map((m: { id: string }) => m.id)).toEqual(['new-1'])
    expect((await api(server.url, '/api/conversations/search?q=ancient')).body.total).toBe(0)
    expect((await api(server.url, '/api/conversations/search?q=recent')).body.total).toBe(1)
    expect(await metric(server, 'retention_deleted_rows_total{kind="messages"}')).toBe(3000)
    expect(await metric(server, 'database_size_bytes')).toBeLessThan(sizeBefore - 2_000_000)
    expect(await metric(server, 'database_wal_bytes')).toBeGreaterThanOrEqual(0)
    expect(await metric(server, 'database_maintenance_total{task="checkpoint",result="ok"}')).toBeGreaterThanOrEqual(1)
  })
})

describe('event retention and realtime clients', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ SENECA_RETENTION_EVENTS: '2s', SENECA_WS_REPLAY_MAX: '5' })
  })
  afterAll(async () => {
    await server?.dispose()
  })

  it('tells a client resuming from a deleted seq to resync, and refuses events older than the retention', async () => {
    const stored = await api(server.url, '/api/ingest', { method: 'POST', json: { events: Array.from({ length: 20 }, (_, i) => message(`e-${i}`)) } })
    const firstSeq = stored.body.results[0].seq as number
    await new Promise(r => setTimeout(r, 2100))
    const report = (await api(server.url, '/api/admin/maintenance', { method: 'POST' })).body
    expect(report.deleted.events).toBeGreaterThanOrEqual(15)

    const resume = async (sinceSeq: number) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws?token=${server.adminKey}&since_seq=${sinceSeq}`)
      const frames: { event: string, seq?: number, data: Record<string, unknown> }[] = []
      ws.on('message', (d) => {
        const frame = JSON.parse(String(d))
        frames.push(...(frame.event === 'batch' ? frame.data.events : [frame]))
      })
      await waitFor(() => frames.some(f => f.event === 'connection_established'))
      ws.send(JSON.stringify({ event: 'subscribe', data: { channels: ['conversations'] } }))
      return { ws, frames }
    }
    // From a deleted seq: told to resync (the newest SENECA_WS_REPLAY_MAX are kept, so it is also too many), never a replay with a hole.
    const gone = await resume(firstSeq)
    const resync = await waitFor(() => gone.frames.find(f => f.event === 'resync_required'))
    expect(resync.data).toMatchObject({ reason: expect.stringMatching(/^too_(old|many)$/), since_seq: firstSeq })
    expect(gone.frames.some(f => f.event === 'conversation_message')).toBe(false)
    gone.ws.close()
    // From a kept seq: replayed.
    const lastSeq = stored.body.results.at(-1).seq as number
    const kept = await resume(lastSeq - 3)
    await waitFor(() => kept.frames.filter(f => f.event === 'conversation_message').length === 3)
    expect(kept.frames.filter(f => f.event === 'conversation_message').map(f => f.seq)).toEqual([lastSeq - 2, lastSeq - 1, lastSeq])
    expect(kept.frames.some(f => f.event === 'resync_required')).toBe(false)
    kept.ws.close()

    const late = await api(server.url, '/api/ingest', { method: 'POST', json: { events: [message('e-0', { ts: Date.now() - 60_000 })] } })
    expect(late.status).toBe(207)
    expect(late.body.results[0]).toMatchObject({ status: 'rejected', error: { code: 'RETENTION_EXPIRED' } })
  })
})
