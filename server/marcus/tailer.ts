/**
 * The Marcus log connector: backfills every log file, then follows new lines and new files.
 *
 * - Lines from all files are merged by their timestamps, so facts are applied in the order
 *   Marcus wrote them (a registration before the assignment that follows it).
 * - Only complete lines are read: a partial last line waits for its newline.
 * - File offsets and the current project are saved in the transaction that stores the batch
 *   they cover, so a restart neither re-imports nor skips; event ids derive from the lines,
 *   so a line read twice anyway (a file replaced, a copy in the other structlog file) is
 *   stored once.
 * - A malformed or unknown record is counted and kept as a generic event; it never stops
 *   the import.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import type { Statement } from 'better-sqlite3'
import type { RawEvent } from '../../shared/events'
import { type BulkCheckpoints, startBulkCheckpoints } from '../utils/bulk-checkpoints'
import { useDatabase } from '../utils/db'
import { beginBulkImport } from '../utils/event-bus'
import { ingest } from '../utils/ingest'
import { assignProject, FALLBACK_PROJECT, fileKind, lineId, lineTime, type MarcusContext, type MarcusFileKind, mapRecord } from './mapping'

const CONNECTOR = 'marcus-log'
const READ_CHUNK = 1 << 20
/**
 * Lines per ingest transaction during a backfill; the event loop is served between batches.
 * (10,000 measured no cheaper per line, and held requests more than twice as long.)
 */
const BATCH = 4000
/** Line ids remembered to skip the copy of a record Marcus writes to two files. */
const RECENT_LINES = 50_000

/**
 * The ids of at least the last `size` lines, in two generations: when the newer one is full
 * it becomes the older one. Constant time per line (dropping the oldest entry of one Set
 * one at a time costs more and more, as a Set keeps deleted slots until it rehashes).
 */
class RecentIds {
  private current = new Set<string>()
  private previous = new Set<string>()
  constructor(private readonly size: number) {}

  has(id: string): boolean {
    return this.current.has(id) || this.previous.has(id)
  }

  add(id: string) {
    this.current.add(id)
    if (this.current.size < this.size) return
    this.previous = this.current
    this.current = new Set()
  }
}

export type TailerOptions = {
  /** The Marcus checkout root (has `logs/`), or … */
  root?: string
  /** … its `logs/conversations` folder directly. */
  logDir?: string
  pollMs?: number
}

export type TailerStats = {
  files: { path: string, kind: MarcusFileKind, offset: number, size: number }[]
  lines: number
  /** Lines skipped because the same record had just been read from another file. */
  duplicate_lines: number
  records: Record<string, number>
  malformed: number
  unknown: number
  events_stored: number
  events_duplicate: number
  events_rejected: number
  project_id: string | null
  last_error: string | null
  caught_up: boolean
}

/** `ts`: for merging (the line's own time, else the last one of its file); `own`: the line's own time. */
type PendingLine = { line: string, end: number, ts: number, own: number | undefined }

class FileCursor {
  /** Byte offset up to which lines have been handed out. */
  readPos: number
  lines: PendingLine[] = []
  /** Nothing new at the last look during this pass: not asked again until the next one. */
  drained = false
  private head = 0
  private lastTs = 0

  constructor(readonly path: string, readonly rel: string, readonly kind: MarcusFileKind, public offset: number) {
    this.readPos = offset
  }

  get size() {
    try {
      return statSync(this.path).size
    }
    catch {
      return 0
    }
  }

  /** Forgets what was read after `offset` (a batch that could not be stored is read again). */
  rewind(offset: number) {
    this.offset = offset
    this.readPos = offset
    this.lines = []
    this.head = 0
    this.drained = false
  }

  peek(): PendingLine | undefined {
    return this.lines[this.head]
  }

  take(): PendingLine {
    return this.lines[this.head++]!
  }

  /** Reads complete lines from readPos; returns false when there is nothing new. */
  fill(): boolean {
    if (this.head < this.lines.length) return true
    this.lines = []
    this.head = 0
    const size = this.size
    if (size < this.readPos) {
      // Truncated or replaced: read it again from the start (ids make repeats no-ops).
      this.readPos = 0
      this.offset = 0
    }
    if (size === this.readPos) {
      this.drained = true
      return false
    }
    const fd = openSync(this.path, 'r')
    try {
      let buf = Buffer.alloc(Math.min(READ_CHUNK, size - this.readPos))
      let n = readSync(fd, buf, 0, buf.length, this.readPos)
      let lastNl = buf.lastIndexOf(10, n - 1)
      // A line longer than the chunk: read on until its newline, or wait for it.
      while (lastNl === -1 && this.readPos + n < size) {
        const bigger = Buffer.alloc(Math.min(buf.length * 2, size - this.readPos))
        buf.copy(bigger, 0, 0, n)
        n += readSync(fd, bigger, n, bigger.length - n, this.readPos + n)
        buf = bigger
        lastNl = buf.lastIndexOf(10, n - 1)
      }
      if (lastNl === -1) {
        this.drained = true
        return false
      }
      let start = 0
      while (start <= lastNl) {
        const nl = buf.indexOf(10, start)
        const stop = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl
        const line = stop > start ? buf.toString('utf8', start, stop) : ''
        const end = this.readPos + nl + 1
        const first = line.charCodeAt(0)
        if ((first > 32 && first < 127) || line.trim()) {
          const own = lineTime(line)
          if (own !== undefined) this.lastTs = own
          this.lines.push({ line, end, ts: this.lastTs, own })
        }
        else if (this.lines.length) this.lines[this.lines.length - 1]!.end = end
        else this.offset = end
        start = nl + 1
      }
      this.readPos += lastNl + 1
      return this.lines.length > 0
    }
    finally {
      closeSync(fd)
    }
  }
}

export class MarcusLogTailer {
  readonly logsRoot: string
  private readonly pollMs: number
  private cursors = new Map<string, FileCursor>()
  private ctx: MarcusContext = {}
  private stash: RawEvent[] = []
  private timer: NodeJS.Timeout | undefined
  private running = false
  private stopped = false
  private recent = new RecentIds(RECENT_LINES)
  private stats: Omit<TailerStats, 'files' | 'project_id'> = {
    lines: 0, duplicate_lines: 0, records: {}, malformed: 0, unknown: 0, events_stored: 0, events_duplicate: 0, events_rejected: 0, last_error: null, caught_up: false,
  }

  constructor(options: TailerOptions) {
    if (options.logDir) this.logsRoot = resolve(options.logDir, '..')
    else if (options.root) this.logsRoot = resolve(options.root, 'logs')
    else throw new Error('MarcusLogTailer needs root or logDir')
    this.pollMs = options.pollMs ?? 250
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
  }

  getStats(): TailerStats {
    return {
      ...this.stats,
      project_id: this.ctx.projectId ?? null,
      files: [...this.cursors.values()].map(c => ({ path: c.rel, kind: c.kind, offset: c.offset, size: c.size })),
    }
  }

  /**
   * One pass: discover files, read every complete new line, ingest in time order. Yields to
   * the event loop between batches, so requests are served during a long backfill.
   */
  async poll() {
    if (this.running) return
    this.running = true
    // Set once a pass reads more than a batch: a backfill (or a long catch-up after a pause).
    let bulk: { end: () => void, checkpoints: BulkCheckpoints | undefined } | undefined
    try {
      this.discover()
      const cursors = [...this.cursors.values()]
      for (const c of cursors) c.drained = false
      let batch: RawEvent[] = []
      for (;;) {
        let next: FileCursor | undefined
        let nextAt = -1
        for (let i = 0; i < cursors.length; i++) {
          const c = cursors[i]!
          if (!c.peek() && (c.drained || !c.fill())) continue
          if (!next || c.peek()!.ts < next.peek()!.ts) {
            next = c
            nextAt = i
          }
        }
        if (!next) break
        // `next` keeps its turn while its lines come before every other file's next line
        // (a tie goes to the file listed first, as in the choice above), so the other files
        // are not compared again for each line of a run.
        let before = Number.POSITIVE_INFINITY
        let after = Number.POSITIVE_INFINITY
        for (let i = 0; i < cursors.length; i++) {
          const head = i === nextAt ? undefined : cursors[i]!.peek()
          if (head && i < nextAt) before = Math.min(before, head.ts)
          else if (head) after = Math.min(after, head.ts)
        }
        for (let pending = next.peek(); pending && pending.ts < before && pending.ts <= after; pending = next.peek()) {
          next.take()
          this.handleLine(next, pending, batch)
          next.offset = pending.end
          if (batch.length >= BATCH && this.stash.length === 0) {
            bulk ??= { end: beginBulkImport(), checkpoints: startBulkCheckpoints(useDatabase().sqlite) }
            this.flush(batch)
            bulk.checkpoints?.committed()
            batch = []
            await new Promise(resolve => setImmediate(resolve))
            if (this.stopped) return
          }
        }
      }
      if (this.stash.length) {
        this.ctx.projectId ??= FALLBACK_PROJECT
        batch.push(...assignProject(this.stash, this.ctx.projectId))
        this.stash = []
      }
      this.flush(batch)
      this.stats.caught_up = true
    }
    finally {
      this.running = false
      if (bulk) {
        bulk.end()
        void bulk.checkpoints?.finish()
      }
    }
  }

  private handleLine(cursor: FileCursor, { line, own }: PendingLine, out: RawEvent[]) {
    this.stats.lines++
    const id = lineId(line, this.timedIds ? own : undefined)
    // The same record from the other structlog file; its events are stored already.
    if (this.recent.has(id)) {
      this.stats.duplicate_lines++
      return
    }
    this.recent.add(id)
    let rec: Record<string, unknown> | undefined
    try {
      const parsed = JSON.parse(line)
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) rec = parsed
    }
    catch { /* counted below */ }
    let events: RawEvent[]
    if (!rec) {
      this.stats.malformed++
      events = [{ kind: 'generic', id, type: 'malformed_line', data: { file: cursor.rel, line: line.slice(0, 10_000) } }]
    }
    else {
      const label = String(rec.event ?? rec.type ?? rec.event_type ?? 'unknown').replace(/^MCP tool '.*' returned failure$/, 'MCP tool failure')
      this.stats.records[label] = (this.stats.records[label] ?? 0) + 1
      const mapped = mapRecord(cursor.kind, rec, id, this.ctx)
      if (!mapped.known) this.stats.unknown++
      events = mapped.events
    }
    if (!this.ctx.projectId) {
      this.stash.push(...events)
      return
    }
    if (this.stash.length) {
      out.push(...assignProject(this.stash, this.ctx.projectId))
      this.stash = []
    }
    out.push(...assignProject(events, this.ctx.projectId))
  }

  /** Stores the batch and, in the same transaction, the offsets of the lines it came from. */
  private flush(batch: RawEvent[]) {
    const state = this.state()
    if (!batch.length && state.json === this.saved.json) return
    // One transaction per batch (the 5,000-event cap is for HTTP requests).
    let outcome
    try {
      outcome = ingest(batch, CONNECTOR, { inTransaction: () => this.save(state.json) })
    }
    catch (error) {
      this.rewind()
      throw error
    }
    this.saved = { ...state, ctx: { ...this.ctx }, stats: { lines: this.stats.lines, duplicate_lines: this.stats.duplicate_lines, malformed: this.stats.malformed, unknown: this.stats.unknown, records: { ...this.stats.records } } }
    this.stats.events_stored += outcome.stored
    this.stats.events_duplicate += outcome.duplicates
    this.stats.events_rejected += outcome.rejected
    if (outcome.rejected) {
      const first = outcome.results.find(r => r.status === 'rejected')
      this.stats.last_error = `rejected event ${first?.id}: ${first?.error?.message}`
    }
  }

  private discover() {
    for (const sub of ['conversations', 'agent_events']) {
      const dir = join(this.logsRoot, sub)
      if (!existsSync(dir)) continue
      for (const name of readdirSync(dir).sort()) {
        const kind = fileKind(name)
        const path = join(dir, name)
        if (!kind || this.cursors.has(path)) continue
        this.cursors.set(path, new FileCursor(path, relative(this.logsRoot, path), kind, this.saved.offsets[relative(this.logsRoot, path)] ?? 0))
      }
    }
  }

  /** What the last committed batch left: the offsets stored with it, and the state to go back to should a batch fail. */
  private saved: {
    offsets: Record<string, number>
    json: string
    ctx: MarcusContext
    stats: Pick<TailerStats, 'lines' | 'duplicate_lines' | 'malformed' | 'unknown' | 'records'>
  } = { offsets: {}, json: '', ctx: {}, stats: { lines: 0, duplicate_lines: 0, malformed: 0, unknown: 0, records: {} } }

  private saveStatement: Statement | undefined
  /**
   * Line ids start with the line's time (see `lineId`). A log root imported before ids did
   * keeps hash-only ids, so a file read again from its start still finds its lines stored.
   */
  private timedIds = true

  private load() {
    const row = useDatabase().sqlite.prepare(`SELECT value FROM connector_state WHERE connector = ? AND key = ?`).get(CONNECTOR, this.logsRoot) as { value: string } | undefined
    if (!row) return
    const state = JSON.parse(row.value) as { offsets?: Record<string, number>, projectId?: string, projectName?: string, ids?: string }
    this.ctx = { projectId: state.projectId, projectName: state.projectName }
    this.saved = { ...this.saved, offsets: state.offsets ?? {}, json: row.value, ctx: { ...this.ctx } }
    this.timedIds = state.ids === 'timed' || Object.keys(this.saved.offsets).length === 0
  }

  /** After a batch failed to store: read again from the offsets stored last, as after a restart. */
  private rewind() {
    for (const c of this.cursors.values()) c.rewind(this.saved.offsets[c.rel] ?? 0)
    this.recent = new RecentIds(RECENT_LINES)
    this.stash = []
    this.ctx = { ...this.saved.ctx }
    Object.assign(this.stats, { ...this.saved.stats, records: { ...this.saved.stats.records } })
  }

  /** The offsets every line handed out so far reaches (files no longer there keep theirs), and the project. */
  private state(): { offsets: Record<string, number>, json: string } {
    const offsets: Record<string, number> = { ...this.saved.offsets }
    for (const c of this.cursors.values()) offsets[c.rel] = c.offset
    return { offsets, json: JSON.stringify({ offsets, projectId: this.ctx.projectId, projectName: this.ctx.projectName, ...(this.timedIds ? { ids: 'timed' } : {}) }) }
  }

  private save(json: string) {
    this.saveStatement ??= useDatabase().sqlite.prepare(`INSERT INTO connector_state (connector, key, value, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(connector, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`)
    this.saveStatement.run(CONNECTOR, this.logsRoot, json, Date.now())
  }
}
