/**
 * Reading the Marcus logs, without storing anything, in two steps: `MarcusLineReader` finds
 * files, reads complete lines, merges them by timestamp and gives each its id (a copy already
 * read from the other structlog file is marked); `MarcusLineMapper` parses and maps those
 * lines into batches of events, each with the connector state (offsets, project) to save with
 * it. The reader needs no server state, so it runs on a worker thread as well as on the
 * server's own (tailer.ts).
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

/** What was read so far; counted by the mapper, reported by the connector. */
export type ReadCounts = {
  lines: number
  /** Lines skipped because the same record had just been read from another file. */
  duplicate_lines: number
  records: Record<string, number>
  malformed: number
  unknown: number
}

/** Where the line reader starts: after the last stored batch. */
export type ReaderStart = {
  /** Byte offset per file, relative to the logs root. */
  offsets: Record<string, number>
  /** Line ids start with the line's time (see `lineId`); false for roots imported before they did. */
  timedIds: boolean
}

/** What the last stored batch left, where reading and mapping carry on. */
export type ReaderState = ReaderStart & { ctx: MarcusContext, counts: ReadCounts }

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

/** A file's size in bytes; 0 when it is gone. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size
  }
  catch {
    return 0
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
    return fileSize(this.path)
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
 * The lines of a pass, in time order, in chunks: per line its text (null for the copy of a
 * record just read from the other structlog file), id, file and the file's offset after it.
 * Plain arrays of strings and numbers, cheap to hand from one thread to another.
 */
export type LineChunk = {
  /** Every file known so far, by index (the `file` of a line). */
  files: { path: string, kind: MarcusFileKind }[]
  lines: (string | null)[]
  ids: string[]
  file: number[]
  ends: number[]
  /** The pass's last chunk; then `offsets` holds where every file was read to. */
  last: boolean
  offsets?: Record<string, number>
}

/** Lines per chunk. */
export const CHUNK_LINES = 2000

/**
 * Reads the complete new lines of one Marcus logs root (the folder holding `conversations/`
 * and `agent_events/`) from saved offsets, merged by timestamp, without parsing them. It only
 * moves forward: should what it handed out not be stored, the caller starts a new one from
 * the offsets stored last.
 */
export class MarcusLineReader {
  private cursors = new Map<string, FileCursor>()
  private files: LineChunk['files'] = []
  private recent = new RecentIds(RECENT_LINES)

  private readonly offsets: Record<string, number>
  private readonly timedIds: boolean

  constructor(readonly logsRoot: string, start: ReaderStart) {
    this.offsets = start.offsets
    this.timedIds = start.timedIds
  }

  /** One pass: discovers files and hands out every complete new line, in chunks; the last says so. */
  * pass(): Generator<LineChunk, void, undefined> {
    this.discover()
    const cursors = [...this.cursors.values()]
    const index = new Map(cursors.map((c, i) => [c, i]))
    for (const c of cursors) c.drained = false
    let chunk = this.chunk()
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
      const file = index.get(next)!
      for (let pending = next.peek(); pending && pending.ts < before && pending.ts <= after; pending = next.peek()) {
        next.take()
        next.offset = pending.end
        const id = lineId(pending.line, this.timedIds ? pending.own : undefined)
        const copy = this.recent.has(id)
        if (!copy) this.recent.add(id)
        chunk.lines.push(copy ? null : pending.line)
        chunk.ids.push(id)
        chunk.file.push(file)
        chunk.ends.push(pending.end)
        if (chunk.lines.length >= CHUNK_LINES) {
          yield chunk
          chunk = this.chunk()
        }
      }
    }
    chunk.last = true
    chunk.offsets = { ...this.offsets }
    for (const c of cursors) chunk.offsets[c.rel] = c.offset
    yield chunk
  }

  private chunk(): LineChunk {
    return { files: this.files, lines: [], ids: [], file: [], ends: [], last: false }
  }

  private discover() {
    const files: LineChunk['files'] = []
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
    for (const c of this.cursors.values()) files.push({ path: c.rel, kind: c.kind })
    this.files = files
  }
}

/**
 * Parses and maps the lines of a pass into batches of events, each with the offsets and the
 * project to save together with it (from `ReaderState`, what the last stored batch left).
 * Lines before Marcus names a project wait for it (or for the end of the pass).
 */
export class MarcusLineMapper {
  private readonly ctx: MarcusContext
  private readonly offsets: Record<string, number>
  private readonly counts: ReadCounts
  private files: LineChunk['files'] = []
  private stash: RawEvent[] = []
  private events: RawEvent[] = []

  constructor(state: ReaderState) {
    this.ctx = { ...state.ctx }
    this.offsets = { ...state.offsets }
    this.counts = { ...state.counts, records: { ...state.counts.records } }
  }

  /** Maps a chunk's lines; yields a batch whenever about BATCH events are ready, and the pass's last one. */
  * take(chunk: LineChunk): Generator<ReadBatch, void, undefined> {
    this.files = chunk.files
    const { lines, ids, file, ends } = chunk
    for (let i = 0; i < lines.length; i++) {
      const { path, kind } = chunk.files[file[i]!]!
      this.counts.lines++
      const line = lines[i]
      // The same record from the other structlog file; its events are stored already.
      if (line === null || line === undefined) this.counts.duplicate_lines++
      else this.handleLine(line, ids[i]!, path, kind)
      this.offsets[path] = ends[i]!
      if (this.events.length >= BATCH && this.stash.length === 0) yield this.batch(false)
    }
    if (!chunk.last) return
    Object.assign(this.offsets, chunk.offsets)
    if (this.stash.length) {
      this.ctx.projectId ??= FALLBACK_PROJECT
      this.events.push(...assignProject(this.stash, this.ctx.projectId))
      this.stash = []
    }
    yield this.batch(true)
  }

  private batch(last: boolean): ReadBatch {
    const events = this.events
    this.events = []
    const files = this.files.map(f => ({ ...f, offset: this.offsets[f.path] ?? 0 }))
    return { events, offsets: { ...this.offsets }, ctx: { ...this.ctx }, counts: { ...this.counts, records: { ...this.counts.records } }, files, last }
  }

  private handleLine(line: string, id: string, path: string, kind: MarcusFileKind) {
    let rec: Record<string, unknown> | undefined
    try {
      const parsed = JSON.parse(line)
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) rec = parsed
    }
    catch { /* counted below */ }
    let events: RawEvent[]
    if (!rec) {
      this.counts.malformed++
      events = [{ kind: 'generic', id, type: 'malformed_line', data: { file: path, line: line.slice(0, 10_000) } }]
    }
    else {
      const label = String(rec.event ?? rec.type ?? rec.event_type ?? 'unknown').replace(/^MCP tool '.*' returned failure$/, 'MCP tool failure')
      this.counts.records[label] = (this.counts.records[label] ?? 0) + 1
      const mapped = mapRecord(kind, rec, id, this.ctx)
      if (!mapped.known) this.counts.unknown++
      events = mapped.events
    }
    if (!this.ctx.projectId) {
      this.stash.push(...events)
      return
    }
    if (this.stash.length) {
      this.events.push(...assignProject(this.stash, this.ctx.projectId))
      this.stash = []
    }
    this.events.push(...assignProject(events, this.ctx.projectId))
  }
}
