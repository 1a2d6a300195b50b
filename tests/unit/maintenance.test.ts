import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readConfig, setConfig } from '../../server/utils/config'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'
import { ingest } from '../../server/utils/ingest'
import { cancelMaintenance, isCancelled, retainedFrom, runMaintenance } from '../../server/utils/maintenance'
import { indexPendingMessages } from '../../server/utils/search-index'

const DAY = 86_400_000
const now = Date.UTC(2026, 10, 26, 12)
const count = (sql: string, ...args: unknown[]) => (useDatabase().sqlite.prepare(sql).get(...args) as { n: number }).n
const msg = (id: string, ts: number, content = `message ${id}`) => ({ kind: 'message', id, project_id: 'shop', conversation_id: 'c', sender: 'a', recipient: 'b', message_type: 'request', content, ts })

beforeEach(() => setDatabase(openDatabase(':memory:')))
afterEach(() => {
  closeDatabase()
  setConfig(undefined)
})

function config(env: Record<string, string>) {
  return readConfig({ SENECA_DATA_DIR: '/tmp/seneca-unit', ...env })
}

describe('retention', () => {
  it('deletes old messages in batches, keeps the hourly rollups and the full-text index in step', async () => {
    ingest([...Array.from({ length: 25 }, (_, i) => msg(`old-${i}`, now - 100 * DAY + i, `ancient topic ${i}`)), msg('new', now - DAY, 'fresh topic')], 'test')
    indexPendingMessages()
    const rollupsBefore = count('SELECT sum(messages) AS n FROM message_rollups')
    const report = await runMaintenance({ now, config: config({ SENECA_RETENTION_MESSAGES: '30d', SENECA_RETENTION_BATCH: '7' }) })
    expect(report.deleted.messages).toBe(25)
    expect(count('SELECT count(*) AS n FROM messages')).toBe(1)
    expect(count('SELECT sum(messages) AS n FROM message_rollups')).toBe(rollupsBefore)
    expect(count(`SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH 'ancient'`)).toBe(0)
    expect(count(`SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH 'fresh'`)).toBe(1)
    // Events are kept: their retention is off.
    expect(report.skipped.events).toBe('retention off')
    expect(count('SELECT count(*) AS n FROM events')).toBe(26)
  })

  it('deletes messages not yet in the full-text index without touching the index', async () => {
    ingest([msg('a', now - 100 * DAY), msg('b', now)], 'test')
    await runMaintenance({ now, config: config({ SENECA_RETENTION_MESSAGES: '30d' }) })
    indexPendingMessages()
    expect(count(`SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH 'message'`)).toBe(1)
    // FTS5 checks its index against the messages table and throws on any difference.
    expect(() => useDatabase().sqlite.exec(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`)).not.toThrow()
  })

  it('deletes events only as a prefix of the log and never the newest SENECA_WS_REPLAY_MAX', async () => {
    // seq 1–10 old, 11 recent, 12–20 old again (a late backfill), 21–30 recent.
    ingest(Array.from({ length: 10 }, (_, i) => msg(`o1-${i}`, now - 90 * DAY)), 'test')
    ingest([msg('r1', now)], 'test')
    ingest(Array.from({ length: 9 }, (_, i) => msg(`o2-${i}`, now - 90 * DAY)), 'test')
    ingest(Array.from({ length: 10 }, (_, i) => msg(`r2-${i}`, now)), 'test')
    const report = await runMaintenance({ now, config: config({ SENECA_RETENTION_EVENTS: '30d', SENECA_RETENTION_BATCH: '3', SENECA_WS_REPLAY_MAX: '5' }) })
    // The log stays contiguous: a resume below min(seq) is told to resync, never silently skipped.
    expect(report.deleted.events).toBe(10)
    expect(count('SELECT min(seq) AS n FROM events')).toBe(11)
    expect(count('SELECT count(*) AS n FROM events')).toBe(20)

    // With everything old, the newest 5 still stay for replays in progress.
    const later = now + 60 * DAY
    await runMaintenance({ now: later, config: config({ SENECA_RETENTION_EVENTS: '30d', SENECA_WS_REPLAY_MAX: '5' }) })
    expect(count('SELECT count(*) AS n FROM events')).toBe(5)
    expect(count('SELECT min(seq) AS n FROM events')).toBe(26)
  })

  it('refuses to ingest events older than the events retention, so a re-send of a deleted one is not stored twice', () => {
    setConfig(config({ SENECA_RETENTION_EVENTS: '30d' }))
    const out = ingest([msg('too-old', Date.now() - 31 * DAY), msg('fine', Date.now() - 29 * DAY)], 'test')
    expect(out.results[0]).toMatchObject({ status: 'rejected', error: { code: 'RETENTION_EXPIRED' } })
    expect(out.results[1]!.status).toBe('stored')
  })

  it('applies cost retention when the cost_events table exists', async () => {
    const { sqlite } = useDatabase()
    const insert = sqlite.prepare(`INSERT INTO cost_events (event_id, project_id, model, cost_source, ts) VALUES (?, 'shop', 'm', 'estimated', ?)`)
    insert.run('old', now - 400 * DAY)
    insert.run('new', now - DAY)
    // Inside the month the cutoff falls in: kept, so that month's rollups stay whole.
    insert.run('same-month', Date.UTC(2025, 10, 2))
    const report = await runMaintenance({ now, config: config({ SENECA_RETENTION_COST_EVENTS: '365d' }) })
    expect(report.deleted.cost_events).toBe(1)
    expect(report.deleted_before.cost_events).toBe('2025-11-01T00:00:00.000Z')
    expect(count('SELECT count(*) AS n FROM cost_events')).toBe(2)
    expect(retainedFrom('cost_events')).toBe(Date.UTC(2025, 10, 1))
    expect(retainedFrom('messages')).toBe(0)
  })
})

describe('stopping', () => {
  it('ends a pass in progress after its current batch, leaving what it deleted consistent', async () => {
    ingest(Array.from({ length: 200 }, (_, i) => msg(`s-${i}`, now - 100 * DAY)), 'test')
    indexPendingMessages()
    const pass = runMaintenance({ now, config: config({ SENECA_RETENTION_MESSAGES: '30d', SENECA_RETENTION_BATCH: '10' }) })
    cancelMaintenance()
    const error = await pass.catch(e => e)
    expect(isCancelled(error)).toBe(true)
    const left = count('SELECT count(*) AS n FROM messages')
    expect(left).toBeGreaterThan(0)
    expect(left).toBeLessThan(200)
    expect(() => useDatabase().sqlite.exec(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`)).not.toThrow()
    // The next pass finishes the job.
    expect((await runMaintenance({ now, config: config({ SENECA_RETENTION_MESSAGES: '30d' }) })).deleted.messages).toBe(left)
  })
})
