/**
 * The spine (ARCHITECTURE §2): every fact enters through `ingest(events, source)`.
 * 1. validate each event on its own (per-item errors, never all-or-nothing);
 * 2. in one SQLite transaction append it to `events` (a re-sent id is a no-op) and apply
 *    the projections — each event in its own savepoint, so one failure never takes its
 *    neighbours down;
 * 3. after commit, hand the stored events, in seq order, to the listeners.
 */
import type { Statement } from 'better-sqlite3'
import type { z } from 'zod'
import { eventSchemas, type EventKind, type IngestEvent, type IngestResult } from '../../shared/events'
import { type Sqlite, useDatabase } from './db'
import { publishStoredEvents, type StoredEvent } from './event-bus'
import { newId } from './ids'
import { Projector } from './projections'

export type IngestOutcome = {
  results: IngestResult[]
  stored: number
  duplicates: number
  rejected: number
  events: StoredEvent[]
}

type Prepared = IngestEvent & { id: string, ts: number, project_id: string }

const DEFAULT_PROJECT = 'default'

class IngestPath {
  private readonly insertEvent: Statement
  private readonly projector: Projector
  private readonly run: (batch: { event: Prepared, index: number }[], source: string, now: number, outcome: IngestOutcome) => void

  constructor(readonly sqlite: Sqlite) {
    this.insertEvent = sqlite.prepare(`INSERT INTO events (id, kind, project_id, ts, received_at, source, payload)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`)
    this.projector = new Projector(sqlite)
    const one = sqlite.transaction((event: Prepared, source: string, now: number) => {
      const payload = JSON.stringify(event)
      const info = this.insertEvent.run(event.id, event.kind, event.project_id, event.ts, now, source, payload)
      if (info.changes === 0) return undefined
      const seq = Number(info.lastInsertRowid)
      const derived = this.projector.apply(event, seq)
      return { seq, derived }
    })
    this.run = sqlite.transaction((batch, source, now, outcome) => {
      for (const { event, index } of batch) {
        try {
          const done = one(event, source, now)
          if (!done) {
            outcome.results[index] = { id: event.id, status: 'duplicate' }
            outcome.duplicates++
            continue
          }
          outcome.results[index] = { id: event.id, status: 'stored', seq: done.seq }
          outcome.stored++
          outcome.events.push({
            seq: done.seq, id: event.id, kind: event.kind, projectId: event.project_id, ts: event.ts,
            receivedAt: now, source, payload: event as unknown as Record<string, unknown>, derived: done.derived,
          })
        }
        catch (error) {
          const sqliteCode = (error as { code?: string }).code
          if (sqliteCode === 'SQLITE_CONSTRAINT_UNIQUE' || sqliteCode === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
            // The event is new but what it describes (a message id, a blocker id) is already stored.
            outcome.results[index] = { id: event.id, status: 'duplicate' }
            outcome.duplicates++
          }
          else {
            // A projection may refuse an event with its own code (an unknown command id, …).
            const code = sqliteCode && !sqliteCode.startsWith('SQLITE') ? sqliteCode : 'PROJECTION_FAILED'
            outcome.results[index] = reject(event.id, code, (error as Error).message)
            outcome.rejected++
          }
        }
      }
      this.projector.flush()
    })
  }

  ingest(raw: unknown[], source: string, options: IngestOptions): IngestOutcome {
    const now = Date.now()
    const outcome: IngestOutcome = { results: new Array(raw.length), stored: 0, duplicates: 0, rejected: 0, events: [] }
    const batch: { event: Prepared, index: number }[] = []
    for (let index = 0; index < raw.length; index++) {
      const checked = validate(raw[index], now, options)
      if ('error' in checked) {
        outcome.results[index] = checked.error
        outcome.rejected++
      }
      else batch.push({ event: checked.event, index })
    }
    if (batch.length) {
      try {
        this.run(batch, source, now, outcome)
      }
      catch (error) {
        this.projector.reset()
        throw error
      }
    }
    publishStoredEvents(outcome.events)
    return outcome
  }
}

function reject(id: string | null, code: string, message: string, details?: unknown): IngestResult {
  return { id, status: 'rejected', error: details === undefined ? { code, message } : { code, message, details } }
}

function validate(raw: unknown, now: number, options: IngestOptions): { event: Prepared } | { error: IngestResult } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { error: reject(null, 'VALIDATION_FAILED', 'an event must be a JSON object') }
  }
  const candidate = raw as Record<string, unknown>
  const givenId = typeof candidate.id === 'string' ? candidate.id : null
  const kind = candidate.kind
  if (typeof kind !== 'string' || !(kind in eventSchemas)) {
    return {
      error: reject(givenId, 'UNKNOWN_EVENT_KIND', `unknown event kind ${JSON.stringify(kind ?? null)}`, { allowed: Object.keys(eventSchemas) }),
    }
  }
  const schema = eventSchemas[kind as EventKind] as z.ZodType<IngestEvent>
  const parsed = schema.safeParse(candidate)
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map(i => ({ path: i.path.join('.'), message: i.message }))
    return { error: reject(givenId, 'VALIDATION_FAILED', `invalid ${kind} event: ${issues.map(i => `${i.path || '(event)'}: ${i.message}`).join('; ')}`, { issues }) }
  }
  const event = parsed.data as Prepared
  // A message's own id doubles as its event id, so re-sending the message is a no-op too.
  event.id = event.id ?? (event.kind === 'message' && event.message_id ? event.message_id : newId('evt'))
  event.ts = event.ts ?? now
  event.project_id = event.project_id ?? options.defaultProject ?? DEFAULT_PROJECT
  if (options.projects && !options.projects.includes(event.project_id)) {
    return { error: reject(event.id, 'FORBIDDEN', `No access to project '${event.project_id}'`, { project_id: event.project_id }) }
  }
  return { event }
}

let path: IngestPath | undefined

export type IngestOptions = {
  /** Projects the sender may write to; `null`/absent: any. */
  projects?: string[] | null
  /** The project of events that name none (`default` otherwise). */
  defaultProject?: string
}

/** The single entry point for facts. `source` says who sent them (`api`, `marcus-log`, …). */
export function ingest(events: unknown[], source: string, options: IngestOptions = {}): IngestOutcome {
  const { sqlite } = useDatabase()
  if (!path || path.sqlite !== sqlite) path = new IngestPath(sqlite)
  return path.ingest(events, source, options)
}
