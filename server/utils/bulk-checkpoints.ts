/**
 * WAL checkpoints on the other core during a bulk import. SQLite checkpoints inside the commit
 * that grows the WAL past `wal_autocheckpoint` pages, on the writer's thread: during a Marcus
 * backfill that was about a fifth of the writer's time. While a bulk import runs, automatic
 * checkpoints are off and a worker thread with its own connection runs PASSIVE checkpoints
 * after commits (they copy committed frames into the database file without blocking the
 * writer or readers); at the end the worker checkpoints once more and the automatic ones are
 * back. Durability is unchanged: every commit still goes to the WAL first, as before.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Sqlite } from './db'

/** The worker: plain CommonJS, evaluated as is (it has no imports of ours, so it needs no bundling). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('busy_timeout = 5000')
let scheduled = false
const checkpoint = () => {
  scheduled = false
  if (!db.open) return
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  }
  catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) })
  }
}
parentPort.on('message', (message) => {
  if (message === 'close') {
    checkpoint()
    db.close()
    parentPort.postMessage('closed')
    return
  }
  if (!scheduled) {
    scheduled = true
    setImmediate(checkpoint)
  }
})
`

export type BulkCheckpoints = {
  /** After each commit of the import: asks for a checkpoint (coalesced while one runs). */
  committed: () => void
  /** Ends the import: a last checkpoint in the worker, then automatic checkpoints again. */
  finish: () => Promise<void>
}

/**
 * Starts checkpointing `sqlite`'s database from a worker thread until `finish()`; undefined for
 * an in-memory database (nothing to checkpoint) or when no worker can start.
 */
export function startBulkCheckpoints(sqlite: Sqlite): BulkCheckpoints | undefined {
  if (sqlite.memory || !sqlite.name) return undefined
  const before = sqlite.pragma('wal_autocheckpoint', { simple: true }) as number
  let worker: Worker
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: sqlite.name, driver: createRequire(import.meta.url).resolve('better-sqlite3') } })
  }
  catch (error) {
    console.error('[seneca] bulk import: checkpoints stay on the writer', error)
    return undefined
  }
  worker.unref()
  let alive = true
  const restore = () => {
    if (!alive) return
    alive = false
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${before}`)
  }
  worker.on('message', (message: unknown) => {
    if (message && typeof message === 'object' && 'error' in message) console.error('[seneca] bulk import checkpoint failed:', (message as { error: string }).error)
  })
  // Should the worker die, SQLite checkpoints on the writer again.
  worker.on('error', (error) => {
    console.error('[seneca] bulk import checkpoint worker failed', error)
    restore()
  })
  worker.on('exit', restore)
  sqlite.pragma('wal_autocheckpoint = 0')
  return {
    committed: () => {
      if (alive) worker.postMessage('checkpoint')
    },
    finish: () => {
      if (!alive) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const done = () => {
          restore()
          void worker.terminate()
          resolve()
        }
        worker.once('exit', done)
        worker.on('message', message => message === 'closed' && done())
        worker.postMessage('close')
      })
    },
  }
}
