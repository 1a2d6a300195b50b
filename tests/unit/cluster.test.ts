import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EventFeed, isLeader, runAsLeader } from '../../server/utils/cluster'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'
import { setEventSequencer, type StoredEvent } from '../../server/utils/event-bus'
import { ingest } from '../../server/utils/ingest'

let dir: string
/** Another process's connection to the same database file. */
let other: Database.Database
let handed: StoredEvent[]
let feed: EventFeed

const msg = (id: string) => ({ kind: 'message', id, message_id: id, sender: 'a', recipient: 'b', content: `hello ${id}` })

/** What another process's ingest leaves in the log. */
function storeElsewhere(...ids: string[]) {
  const insert = other.prepare(`INSERT INTO events (id, kind, project_id, ts, received_at, source, payload) VALUES (?, 'message', 'default', ?, ?, 'api', ?)`)
  other.transaction(() => {
    for (const id of ids) insert.run(id, Date.now(), Date.now(), JSON.stringify({ ...msg(id), project_id: 'default' }))
  })()
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'seneca-cluster-unit-'))
  setDatabase(openDatabase(join(dir, 'seneca.db')))
  other = new Database(join(dir, 'seneca.db'))
  other.pragma('busy_timeout = 5000')
  handed = []
  feed = new EventFeed(useDatabase().sqlite, events => handed.push(...events))
  setEventSequencer(events => feed.committed(events))
})

afterEach(() => {
  setEventSequencer(undefined)
  other.close()
  closeDatabase()
  rmSync(dir, { recursive: true, force: true })
})

describe('the event feed of one process among several', () => {
  it('hands over what other processes stored before a local commit first, so listeners see one gap-free order', () => {
    storeElsewhere('e1', 'e2')
    ingest([msg('l1')], 'test')
    storeElsewhere('e3')
    ingest([msg('l2'), msg('l3')], 'test')
    expect(handed.map(e => [e.seq, e.id, e.remote ?? false])).toEqual([
      [1, 'e1', true], [2, 'e2', true], [3, 'l1', false], [4, 'e3', true], [5, 'l2', false], [6, 'l3', false],
    ])
    // Read back from the log, another process's event carries its payload (no `derived`).
    expect(handed[0]).toMatchObject({ kind: 'message', projectId: 'default', source: 'api', payload: { content: 'hello e1' } })
    expect(handed[0]!.derived).toBeUndefined()
  })

  it('treats wake-ups as hints: repeated, late or missing ones never repeat, skip or reorder an event', () => {
    storeElsewhere('e1', 'e2', 'e3')
    feed.catchUp()
    feed.catchUp()
    expect(handed.map(e => e.seq)).toEqual([1, 2, 3])
    // No wake-up at all for these: the next catch-up (the poll) finds them.
    storeElsewhere('e4', 'e5')
    ingest([msg('l1')], 'test')
    feed.catchUp()
    expect(handed.map(e => e.seq)).toEqual([1, 2, 3, 4, 5, 6])
    expect(feed.delivered).toBe(6)
  })

  it('starts after what was stored before it, and reads a large backlog in chunks without losing its place', () => {
    storeElsewhere(...Array.from({ length: 2500 }, (_, i) => `old-${i}`))
    const later = new EventFeed(useDatabase().sqlite, events => handed.push(...events))
    expect(later.delivered).toBe(2500)
    storeElsewhere(...Array.from({ length: 6500 }, (_, i) => `new-${i}`))
    handed = []
    later.catchUp()
    later.catchUp()
    const seqs = handed.map(e => e.seq)
    expect(seqs).toHaveLength(6500)
    expect(seqs[0]).toBe(2501)
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1)).toBe(true)
  })
})

describe('singleton jobs', () => {
  it('run at once in a process that is alone, and stop when asked', async () => {
    expect(isLeader()).toBe(true)
    let running = 0
    const stop = runAsLeader('test job', () => {
      running++
      return () => {
        running--
      }
    })
    expect(running).toBe(1)
    await stop()
    expect(running).toBe(0)
  })
})
