/**
 * The Marcus log connector: backfills every log file, then follows new lines and new files.
 *
 * - Finding, reading, merging and identifying lines (reader.ts) run on a worker thread when
 *   the bundled reader is there (the built server): while this thread parses, maps and stores
 *   lines, the reader reads the next ones. Without it (`nuxt dev`, unit tests) they run here,
 *   between the batches.
 * - File offsets and the current project are saved in the transaction that stores the batch
 *   they cover, so a restart neither re-imports nor skips; event ids derive from the lines,
 *   so a line read twice anyway (a file replaced, a copy in the other structlog file) is
 *   stored once. A batch that fails to store is read again from the offsets saved last.
 */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Statement } from 'better-sqlite3'
import { type BulkCheckpoints, startBulkCheckpoints } from '../utils/bulk-checkpoints'
import { useDatabase } from '../utils/db'
import { beginBulkImport } from '../utils/event-bus'
import { ingest } from '../utils/ingest'
import { useLogger } from '../utils/logger'
import type { MarcusContext } from './mapping'
import { emptyCounts, fileSize, type LineChunk, MarcusLineMapper, MarcusLineReader, type ReadBatch, type ReadCounts, type ReaderStart, type ReaderState } from './reader'
import type { FromReader, ReaderWorkerData, ToReader } from './reader-worker'

const CONNECTOR = 'marcus-log'
/** The reader's worker entry, bundled next to the built server by nuxt.config.ts. */
export const READER_FILE = 'marcus-log-reader.mjs'

export type TailerOptions = {
  /** The Marcus checkout root (has `logs/`), or … */
  root?: string
  /** … its `logs/conversations` folder directly. */
  logDir?: string
  pollMs?: number
  /** The bundled reader to run on a worker thread, or false to read on this thread; found next to the server by default. */
  readerWorker?: string | false
}

export type TailerStats = ReadCounts & {
  files: (ReadBatch['files'][number] & { size: number })[]
  events_stored: number
  events_duplicate: number
  events_rejected: number
  project_id: string | null
  last_error: string | null
  caught_up: boolean
}

/**
 * The bundled reader next to the running server: its entry is `process.argv[1]` when started
 * as `node .output/server/index.mjs`; otherwise near this module (inside the bundle,
 * `import.meta.url` is the entry's only once the entry module has run, hence asked late).
 * Undefined when not built (`nuxt dev`, unit tests).
 */
export function bundledReader(): string | undefined {
  const dirs = process.argv[1] ? [dirname(resolve(process.argv[1]))] : []
  for (let dir = dirname(fileURLToPath(import.meta.url)), up = 0; up < 3; up++, dir = dirname(dir)) dirs.push(dir)
  return dirs.map(dir => join(dir, READER_FILE)).find(file => existsSync(file))
}

/** Where the lines come from: a reader on a worker thread or on this one. */
type LineSource = {
  /** One pass's chunks of lines, in order; the next is asked for once the one before is taken. */
  pass: () => AsyncGenerator<LineChunk, void, undefined>
  /** Drops what was read and reads again from `start`; false when the source is gone for good. */
  restart: (start: ReaderStart) => boolean
  close: () => void
  /** Some chunk came from it. */
  readonly delivered: boolean
}

function readerHere(logsRoot: string, start: ReaderStart): LineSource {
  let reader = new MarcusLineReader(logsRoot, start)
  return {
    async* pass() {
      yield* reader.pass()
    },
    restart(start) {
      reader = new MarcusLineReader(logsRoot, start)
      return true
    },
    close() {},
    delivered: true,
  }
}

function readerThread(file: string, logsRoot: string, start: ReaderStart): LineSource {
  const worker = new Worker(file, { workerData: { logsRoot, ...start } satisfies ReaderWorkerData })
  // Never what keeps the process alive; stop() ends it.
  worker.unref()
  const arrived: (FromReader | undefined)[] = []
  let waiting: (() => void) | undefined
  /** Exited, or failing (an uncaught error ends the thread). */
  let gone = false
  let delivered = false
  /** After a restart: what the reader sent before it is dropped, up to its `restarted`. */
  let discarding = false
  const push = (message: FromReader | undefined) => {
    arrived.push(message)
    waiting?.()
    waiting = undefined
  }
  worker.on('message', (message: FromReader) => {
    if (message.type === 'restarted') discarding = false
    else if (!discarding) push(message)
  })
  worker.on('error', (error: Error) => {
    gone = true
    push({ type: 'error', message: `reader thread failed: ${error.message}` })
  })
  // `undefined` ends a pass that waits: after close(), or after the error above.
  worker.on('exit', () => {
    gone = true
    push(undefined)
  })
  const send = (message: ToReader) => worker.postMessage(message)
  return {
    async* pass() {
      if (gone) throw new Error('reader thread exited')
      send({ type: 'pass' })
      for (;;) {
        while (!arrived.length) await new Promise<void>(resolve => (waiting = resolve))
        const message = arrived.shift()
        if (!message) throw new Error('reader thread exited')
        if (message.type === 'error') throw new Error(message.message)
        if (message.type !== 'chunk') continue
        delivered = true
        yield message.chunk
        send({ type: 'taken' })
        if (message.chunk.last) return
      }
    },
    restart(start) {
      if (gone) return false
      arrived.length = 0
      discarding = true
      send({ type: 'restart', start })
      return true
    },
    close() {
      gone = true
      void worker.terminate()
    },
    get delivered() {
      return delivered
    },
  }
}

export class MarcusLogTailer {
  readonly logsRoot: string
  private readonly pollMs: number
  private readerWorker: string | false | undefined
  private source: LineSource | undefined
  private timer: NodeJS.Timeout | undefined
  private running = false
  private stopped = false
  private stats = { events_stored: 0, events_duplicate: 0, events_rejected: 0, last_error: null as string | null, caught_up: false }
  /** What the last stored batch left: reading starts there again after a restart or a failed batch. */
  private saved: { json: string, state: ReaderState, files: ReadBatch['files'] } = {
    json: '', state: { offsets: {}, ctx: {}, timedIds: true, counts: emptyCounts() }, files: [],
  }

  private saveStatement: Statement | undefined

  constructor(options: TailerOptions) {
    if (options.logDir) this.logsRoot = resolve(options.logDir, '..')
    else if (options.root) this.logsRoot = resolve(options.root, 'logs')
    else throw new Error('MarcusLogTailer needs root or logDir')
    this.pollMs = options.pollMs ?? 250
    this.readerWorker = options.readerWorker
    this.load()
  }

  /** Backfills, then polls for new lines and files until stop(). */
  start() {
    this.stopped = false
    const tick = async () => {
      if (this.stopped) return
      try {
        await this.poll()
      }
      catch (error) {
        this.stats.last_error = (error as Error).message
        console.error('[seneca] marcus log connector:', error)
      }
      if (this.stopped) return
      this.timer = setTimeout(tick, this.pollMs)
      this.timer.unref?.()
    }
    // After the current tick, so the server is listening while a large backfill runs.
    this.timer = setTimeout(tick, 0)
  }

  stop() {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.source?.close()
    this.source = undefined
  }

  /** Counts as of the last stored batch. */
  getStats(): TailerStats {
    const { counts, ctx } = this.saved.state
    return {
      ...counts,
      records: { ...counts.records },
      ...this.stats,
      project_id: ctx.projectId ?? null,
      files: this.saved.files.map(f => ({ ...f, size: fileSize(join(this.logsRoot, f.path)) })),
    }
  }

  /**
   * One pass: every complete new line, stored in time order, batch by batch. Yields to the
   * event loop between batches, so requests are served during a long backfill.
   */
  async poll() {
    if (this.running) return
    this.running = true
    // Set once a pass reads more than a batch: a backfill (or a long catch-up after a pause).
    let bulk: { end: () => void, checkpoints: BulkCheckpoints | undefined } | undefined
    try {
      this.source ??= this.openSource()
      const mapper = new MarcusLineMapper(this.saved.state)
      for await (const chunk of this.source.pass()) {
        for (const batch of mapper.take(chunk)) {
          if (!batch.last) bulk ??= { end: beginBulkImport(), checkpoints: startBulkCheckpoints(useDatabase().sqlite) }
          this.store(batch)
          bulk?.checkpoints?.committed()
          if (batch.last) this.stats.caught_up = true
          // Requests are served between the batches of a long backfill (from the next turn of
          // the event loop: a chunk that arrives while the reader thread posts the next would
          // otherwise be stored from the same message dispatch, ahead of any I/O).
          else await new Promise(resolve => setImmediate(resolve))
          if (this.stopped) return
        }
      }
    }
    catch (error) {
      if (this.stopped) return
      // Read again from the offsets stored last, as after a restart.
      if (this.source && !this.source.restart(this.resumeAt())) {
        if (!this.source.delivered) this.readOnServerThread()
        this.source.close()
        this.source = undefined
      }
      throw error
    }
    finally {
      this.running = false
      if (bulk) {
        bulk.end()
        void bulk.checkpoints?.finish()
      }
    }
  }

  /** Where reading starts again: after the last stored batch. */
  private resumeAt(): ReaderStart {
    return { offsets: this.saved.state.offsets, timedIds: this.saved.state.timedIds }
  }

  private openSource(): LineSource {
    const start = this.resumeAt()
    const file = this.readerWorker ?? bundledReader()
    if (file) {
      try {
        const source = readerThread(file, this.logsRoot, start)
        useLogger().info({ root: this.logsRoot, reader: 'worker thread' }, 'marcus log connector reading')
        return source
      }
      catch (error) {
        this.readOnServerThread(error)
      }
    }
    useLogger().info({ root: this.logsRoot, reader: 'server thread' }, 'marcus log connector reading')
    return readerHere(this.logsRoot, start)
  }

  /** From now on: the reader thread could not start. */
  private readOnServerThread(error?: unknown) {
    console.error('[seneca] marcus log connector: the reader thread did not start, reading on the server thread', ...(error === undefined ? [] : [error]))
    this.readerWorker = false
  }

  /** Stores the batch and, in the same transaction, the offsets of the lines it came from. */
  private store(batch: ReadBatch) {
    const { offsets, ctx, counts } = batch
    const { timedIds } = this.saved.state
    const json = JSON.stringify({ offsets, projectId: ctx.projectId, projectName: ctx.projectName, ...(timedIds ? { ids: 'timed' } : {}) })
    if (batch.events.length || json !== this.saved.json) {
      // One transaction per batch (the 5,000-event cap is for HTTP requests).
      const outcome = ingest(batch.events, CONNECTOR, { inTransaction: () => this.save(json) })
      this.stats.events_stored += outcome.stored
      this.stats.events_duplicate += outcome.duplicates
      this.stats.events_rejected += outcome.rejected
      if (outcome.rejected) {
        const first = outcome.results.find(r => r.status === 'rejected')
        this.stats.last_error = `rejected event ${first?.id}: ${first?.error?.message}`
      }
    }
    this.saved = { json, state: { offsets, ctx, timedIds, counts }, files: batch.files }
  }

  private load() {
    const row = useDatabase().sqlite.prepare(`SELECT value FROM connector_state WHERE connector = ? AND key = ?`).get(CONNECTOR, this.logsRoot) as { value: string } | undefined
    if (!row) return
    const state = JSON.parse(row.value) as { offsets?: Record<string, number>, projectId?: string, projectName?: string, ids?: string }
    const offsets = state.offsets ?? {}
    const ctx: MarcusContext = { projectId: state.projectId, projectName: state.projectName }
    // A log root imported before ids carried the line's time keeps hash-only ids, so a file
    // read again from its start still finds its lines stored.
    const timedIds = state.ids === 'timed' || Object.keys(offsets).length === 0
    this.saved = { json: row.value, state: { offsets, ctx, timedIds, counts: emptyCounts() }, files: [] }
  }

  private save(json: string) {
    this.saveStatement ??= useDatabase().sqlite.prepare(`INSERT INTO connector_state (connector, key, value, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(connector, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`)
    this.saveStatement.run(CONNECTOR, this.logsRoot, json, Date.now())
  }
}
