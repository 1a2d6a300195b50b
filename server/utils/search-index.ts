/**
 * The full-text index of message content, kept up to date in batches after each ingest
 * commit rather than row by row inside it (a row trigger made ingest about 3× slower).
 * Searches first index whatever is still pending, so a search never misses a stored message.
 */
import type { Statement } from 'better-sqlite3'
import { type Sqlite, useDatabase } from './db'
import { storeVersion } from './store-version'

/** Messages indexed per transaction. */
const CHUNK = 20_000

type Indexer = {
  sqlite: Sqlite
  watermark: Statement
  latest: Statement
  run: (from: number, to: number) => void
  /** The store version at which the index was last found caught up. */
  caughtUpAt?: string
}
let indexer: Indexer | undefined

function useIndexer(): Indexer {
  const { sqlite } = useDatabase()
  if (indexer?.sqlite === sqlite) return indexer
  const insert = sqlite.prepare(`INSERT INTO messages_fts (rowid, content) SELECT seq, content FROM messages WHERE seq > ? AND seq <= ?`)
  const advance = sqlite.prepare(`UPDATE fts_state SET indexed_seq = ? WHERE name = 'messages' AND indexed_seq = ?`)
  indexer = {
    sqlite,
    watermark: sqlite.prepare(`SELECT indexed_seq AS n FROM fts_state WHERE name = 'messages'`),
    latest: sqlite.prepare(`SELECT coalesce(max(seq), 0) AS n FROM messages`),
    run: sqlite.transaction((from: number, to: number) => {
      // Guarded on the old watermark: a concurrent indexer (another process) already did it.
      if (advance.run(to, from).changes === 1) insert.run(from, to)
    }),
  }
  return indexer
}

/** Indexes up to `maxChunks` chunks of pending messages; returns how many are still pending. */
export function indexPendingMessages(maxChunks = Number.POSITIVE_INFINITY): number {
  const ix = useIndexer()
  // Nothing written since the index was last found caught up: nothing can be pending (every search asks).
  // (Not inside a transaction, whose writes a rollback could take back without a new version.)
  const remember = !ix.sqlite.inTransaction
  if (remember && ix.caughtUpAt !== undefined && ix.caughtUpAt === storeVersion(ix.sqlite)) return 0
  const latest = (ix.latest.get() as { n: number }).n
  for (let i = 0; i < maxChunks; i++) {
    const from = (ix.watermark.get() as { n: number }).n
    if (from >= latest) {
      if (remember) ix.caughtUpAt = storeVersion(ix.sqlite)
      return 0
    }
    ix.run(from, Math.min(latest, from + CHUNK))
  }
  return Math.max(0, latest - (ix.watermark.get() as { n: number }).n)
}

let timer: NodeJS.Timeout | undefined

/** Catches the index up soon, a chunk at a time, without holding the event loop. */
export function scheduleIndexing(delayMs = 100) {
  if (timer) return
  timer = setTimeout(function step() {
    timer = undefined
    try {
      if (indexPendingMessages(1) > 0) timer = setTimeout(step, 0)
    }
    catch (error) {
      console.error('[seneca] full-text indexing failed', error)
    }
  }, delayMs)
  timer.unref?.()
}

export function stopIndexing() {
  if (timer) clearTimeout(timer)
  timer = undefined
}
