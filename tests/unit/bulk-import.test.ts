import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { startBulkCheckpoints } from '../../server/utils/bulk-checkpoints'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'
import { beginBulkImport, bulkImportUnderWay, deferDuringBulkImport } from '../../server/utils/event-bus'
import { ingest } from '../../server/utils/ingest'

const dirs: string[] = []
afterEach(() => {
  closeDatabase()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('work deferred during a bulk import', () => {
  it('runs nothing deferred when no import is under way', () => {
    let runs = 0
    expect(deferDuringBulkImport(() => runs++)).toBe(false)
    expect(runs).toBe(0)
    expect(bulkImportUnderWay()).toBe(false)
  })

  it('runs deferred work once, when the last of overlapping imports ends', () => {
    let runs = 0
    const run = () => runs++
    const endFirst = beginBulkImport()
    const endSecond = beginBulkImport()
    expect(deferDuringBulkImport(run)).toBe(true)
    expect(deferDuringBulkImport(run)).toBe(true)
    endFirst()
    endFirst()
    expect(runs).toBe(0)
    expect(bulkImportUnderWay()).toBe(true)
    endSecond()
    expect(runs).toBe(1)
    expect(bulkImportUnderWay()).toBe(false)
  })
})

describe('checkpoints during a bulk import', () => {
  it('does nothing for an in-memory database', () => {
    setDatabase(openDatabase(':memory:'))
    expect(startBulkCheckpoints(useDatabase().sqlite)).toBeUndefined()
  })

  it('checkpoints from a worker thread and gives automatic checkpoints back at the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seneca-bulk-'))
    dirs.push(dir)
    const file = join(dir, 'seneca.db')
    setDatabase(openDatabase(file))
    const { sqlite } = useDatabase()
    const before = sqlite.pragma('wal_autocheckpoint', { simple: true })
    const checkpoints = startBulkCheckpoints(sqlite)!
    expect(checkpoints).toBeDefined()
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
    for (let batch = 0; batch < 5; batch++) {
      const out = ingest(Array.from({ length: 500 }, (_, i) => ({ kind: 'message', id: `m${batch}-${i}`, sender: 'a', recipient: 'b', content: `hello ${i}`.repeat(20) })), 'test')
      expect(out.stored).toBe(500)
      checkpoints.committed()
    }
    await checkpoints.finish()
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(before)
    // Every committed frame is in the database file: a checkpoint now has nothing left to copy.
    const [state] = sqlite.pragma('wal_checkpoint(PASSIVE)') as { busy: number, log: number, checkpointed: number }[]
    expect(state!.log).toBe(state!.checkpointed)
    const other = new Database(file, { readonly: true })
    expect((other.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n).toBe(2500)
    other.close()
    await checkpoints.finish()
  })
})
