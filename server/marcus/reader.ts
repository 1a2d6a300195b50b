/**
 * Reading the Marcus logs, without storing anything: files discovered, complete lines read,
 * merged by timestamp, de-duplicated, parsed and mapped into batches of events, each with the
 * connector state (offsets, project) to save together with it. No database and no server
 * state here, so it runs on a worker thread as well as on the server's own (tailer.ts).
 *
 * - Lines from all files are merged by their timestamps, so facts are applied in the order
 *   Marcus wrote them (a registration before the assignment that follows it).
 * - Only complete lines are read: a partial last line waits for its newline.
 * - A malformed or unknown record is counted and kept as a generic event; it never stops
 *   the import.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { RawEvent } from '../../shared/events'
import { assignProject, FALLBACK_PROJECT, fileKind, lineId, lineTime, type MarcusContext, type MarcusFileKind, mapRecord } from './mapping'

const READ_CHUNK = 1 << 20
/**
 * Events per batch (one ingest transaction) during a backfill.
 * (10,000 measured no cheaper per line, and held requests more than twice as long.)
 */
export const BATCH = 4000
/** Line ids remembered to skip the copy of a record Marcus writes to two files. */
const RECENT_LINES = 50_000

/** What was read so far; counted by the reader, reported by the connector. */
export type ReadCounts = {
  lines: number
  /** Lines skipped because the same record had just been read from another file. */
  duplicate_lines: number
  records: Record<string, number>
  malformed: number
  unknown: number
}

/** Where reading starts: what the last stored batch left. */
export type ReaderState = {
  /** Byte offset per file, relative to the logs root. */
  offsets: Record<string, number>
  ctx: MarcusContext
  /** Line ids start with the line's time (see `lineId`); false for roots imported before they did. */
  timedIds: boolean
  counts: ReadCounts
}

export type ReadBatch = {
  events: RawEvent[]
  /** What every line read so far reaches, per file (files no longer there keep theirs): saved with `events`. */
  offsets: Record<string, number>
  ctx: MarcusContext
  /** As of the batch's last line. */
  counts: ReadCounts
  files: { path: string, kind: MarcusFileKind, offset: number }[]
  /** The pass's last batch: every complete line there was has been read. */
  last: boolean
}

export function emptyCounts(): ReadCounts {
  return { lines: 0, duplicate_lines: 0, records: {}, malformed: 0, unknown: 0 }
}

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

/**
 * Reads one Marcus logs root (the folder holding `conversations/` and `agent_events/`) from
 * a saved state. A reader only moves forward: should a batch it handed out not be stored,
 * the caller drops it and starts a new one from the state stored last.
 */
export class MarcusLogReader {
  private cursors = new Map<string, FileCursor>()
  private readonly ctx: MarcusContext
  private readonly offsets: Record<string, number>
  private readonly timedIds: boolean
  private readonly counts: ReadCounts
  private stash: RawEvent[] = []
  private recent = new RecentIds(RECENT_LINES)

  constructor(readonly logsRoot: string, state: ReaderState) {
    this.ctx = { ...state.ctx }
    this.offsets = state.offsets
    this.timedIds = state.timedIds
    this.counts = { ...state.counts, records: { ...state.counts.records } }
  }

  /**
   * One pass: discovers files, reads every complete new line in time order and hands out its
   * events in batches of about BATCH; the last batch (possibly without events) says so.
   */
  * pass(): Generator<ReadBatch, void, undefined> {
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
          yield this.batch(batch, false)
          batch = []
        }
      }
    }
    if (this.stash.length) {
      this.ctx.projectId ??= FALLBACK_PROJECT
      batch.push(...assignProject(this.stash, this.ctx.projectId))
      this.stash = []
    }
    yield this.batch(batch, true)
  }

  private batch(events: RawEvent[], last: boolean): ReadBatch {
    const offsets: Record<string, number> = { ...this.offsets }
    const files: ReadBatch['files'] = []
    for (const c of this.cursors.values()) {
      offsets[c.rel] = c.offset
      files.push({ path: c.rel, kind: c.kind, offset: c.offset })
    }
    return { events, offsets, ctx: { ...this.ctx }, counts: { ...this.counts, records: { ...this.counts.records } }, files, last }
  }

  private handleLine(cursor: FileCursor, { line, own }: PendingLine, out: RawEvent[]) {
    this.counts.lines++
    const id = lineId(line, this.timedIds ? own : undefined)
    // The same record from the other structlog file; its events are stored already.
    if (this.recent.has(id)) {
      this.counts.duplicate_lines++
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
      this.counts.malformed++
      events = [{ kind: 'generic', id, type: 'malformed_line', data: { file: cursor.rel, line: line.slice(0, 10_000) } }]
    }
    else {
      const label = String(rec.event ?? rec.type ?? rec.event_type ?? 'unknown').replace(/^MCP tool '.*' returned failure$/, 'MCP tool failure')
      this.counts.records[label] = (this.counts.records[label] ?? 0) + 1
      const mapped = mapRecord(cursor.kind, rec, id, this.ctx)
      if (!mapped.known) this.counts.unknown++
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

  private discover() {
    for (const sub of ['conversations', 'agent_events']) {
      const dir = join(this.logsRoot, sub)
      if (!existsSync(dir)) continue
      for (const name of readdirSync(dir).sort()) {
        const kind = fileKind(name)
        const path = join(dir, name)
        if (!kind || this.cursors.has(path)) continue
        const rel = relative(this.logsRoot, path)
        this.cursors.set(path, new FileCursor(path, rel, kind, this.offsets[rel] ?? 0))
      }
    }
  }
}
