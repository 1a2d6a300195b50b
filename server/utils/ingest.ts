/**
 * The spine (ARCHITECTURE §2): every fact enters through `ingest(events, source)`.
 * 1. validate each event on its own (per-item errors, never all-or-nothing);
 * 2. in one SQLite transaction append it to `events` (a re-sent id is a no-op) and apply
 *    the projections; should a projection fail, the batch is rolled back and run again with
 *    a savepoint per event, so one failure never takes its neighbours down;
 * 3. after commit, hand the stored events, in seq order, to the listeners.
 */
import type { Statement } from 'better-sqlite3'
import type { z } from 'zod'
import { eventSchemas, type EventKind, type IngestEvent, type IngestResult } from '../../shared/events'
import { type Sqlite, useDatabase } from './db'
import { publishStoredEvents, type StoredEvent } from './event-bus'
import { newId } from './ids'
import { retentionHorizon } from './maintenance'
import { observeIngest } from './metrics'
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

type Item = { event: Prepared, index: number }
type Applied = { seq: number, derived: Record<string, unknown> | undefined } | undefined

class IngestPath {
  private readonly insertEvent: Statement
  private readonly projector: Projector
  /** The whole batch in one transaction; any projection error rolls all of it back. */
  private readonly runFast: (batch: Item[], source: string, now: number, outcome: IngestOutcome, options: IngestOptions) => void
  /** Each event in its own savepoint, so a failing one is rejected alone. */
  private readonly runSafe: (batch: Item[], source: string, now: number, outcome: IngestOutcome, options: IngestOptions) => void

  constructor(readonly sqlite: Sqlite) {
    this.insertEvent = sqlite.prepare(`INSERT INTO events (id, kind, project_id, ts, received_at, source, payload)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`)
    this.projector = new Projector(sqlite)
    const apply = (event: Prepared, source: string, now: number): Applied => {
      const info = this.insertEvent.run(event.id, event.kind, event.project_id, event.ts, now, source, JSON.stringify(event))
      if (info.changes === 0) return undefined
      const seq = Number(info.lastInsertRowid)
      return { seq, derived: this.projector.apply(event, seq) }
    }
    const inSavepoint = sqlite.transaction((event: Prepared, source: string, now: number) => {
      const done = apply(event, source, now)
      this.projector.flush()
      return done
    })
    this.runFast = sqlite.transaction((batch, source, now, outcome, options) => {
      for (const { event, index } of batch) record(outcome, event, index, source, now, apply(event, source, now))
      this.projector.flush()
      options.inTransaction?.()
    })
    this.runSafe = sqlite.transaction((batch, source, now, outcome, options) => {
      for (const { event, index } of batch) {
        try {
          record(outcome, event, index, source, now, inSavepoint(event, source, now))
        }
        catch (error) {
          this.projector.discard()
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
      options.inTransaction?.()
    })
  }

  ingest(raw: unknown[], source: string, options: IngestOptions): IngestOutcome {
    const now = Date.now()
    const outcome: IngestOutcome = { results: new Array(raw.length), stored: 0, duplicates: 0, rejected: 0, events: [] }
    const batch: { event: Prepared, index: number }[] = []
    const horizon = retentionHorizon(now)
    for (let index = 0; index < raw.length; index++) {
      const checked = validate(raw[index], now, options, horizon)
      if ('error' in checked) {
        outcome.results[index] = checked.error
        outcome.rejected++
      }
      else batch.push({ event: checked.event, index })
    }
    if (batch.length || options.inTransaction) {
      const settled = { results: [...outcome.results], rejected: outcome.rejected }
      try {
        this.runFast(batch, source, now, outcome, options)
      }
      catch {
        // Rolled back whole: start over with a savepoint per event to isolate the culprit.
        this.projector.reset()
        Object.assign(outcome, { results: settled.results, rejected: settled.rejected, stored: 0, duplicates: 0, events: [] })
        try {
          this.runSafe(batch, source, now, outcome, options)
        }
        catch (error) {
          this.projector.reset()
          throw error
        }
      }
    }
    publishStoredEvents(outcome.events)
    return outcome
  }
}

function record(outcome: IngestOutcome, event: Prepared, index: number, source: string, now: number, done: Applied) {
  if (!done) {
    outcome.results[index] = { id: event.id, status: 'duplicate' }
    outcome.duplicates++
    return
  }
  outcome.results[index] = { id: event.id, status: 'stored', seq: done.seq }
  outcome.stored++
  outcome.events.push({
    seq: done.seq, id: event.id, kind: event.kind, projectId: event.project_id, ts: event.ts,
    receivedAt: now, source, payload: event as unknown as Record<string, unknown>, derived: done.derived,
  })
}

function reject(id: string | null, code: string, message: string, details?: unknown): IngestResult {
  return { id, status: 'rejected', error: details === undefined ? { code, message } : { code, message, details } }
}

function validate(raw: unknown, now: number, options: IngestOptions, horizon: number): { event: Prepared } | { error: IngestResult } {
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
  let event: Prepared
  if (conformsPlainly(kind, candidate)) event = candidate as Prepared
  else {
    const schema = eventSchemas[kind as EventKind] as z.ZodType<IngestEvent>
    const parsed = schema.safeParse(candidate)
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 10).map(i => ({ path: i.path.join('.'), message: i.message }))
      return { error: reject(givenId, 'VALIDATION_FAILED', `invalid ${kind} event: ${issues.map(i => `${i.path || '(event)'}: ${i.message}`).join('; ')}`, { issues }) }
    }
    event = parsed.data as Prepared
  }
  // A message's own id doubles as its event id, so re-sending the message is a no-op too.
  event.id = event.id ?? (event.kind === 'message' && event.message_id ? event.message_id : newId('evt'))
  event.ts = event.ts ?? now
  event.project_id = event.project_id ?? options.defaultProject ?? DEFAULT_PROJECT
  if (event.ts < horizon) {
    // Retention may already have deleted an event this old, so its id could no longer mark a re-send as a duplicate.
    return { error: reject(event.id, 'RETENTION_EXPIRED', `event ts ${new Date(event.ts).toISOString()} is older than the events retention (SENECA_RETENTION_EVENTS) allows`, { oldest_accepted: new Date(horizon).toISOString() }) }
  }
  if (options.projects && !options.projects.includes(event.project_id)) {
    return { error: reject(event.id, 'FORBIDDEN', `No access to project '${event.project_id}'`, { project_id: event.project_id }) }
  }
  return { event }
}

// ---------------------------------------------------------------------------------------
// The two kinds most events are (messages, generic records) checked by hand: an event that
// passes is exactly what its zod schema would accept and return (no unknown keys to strip, a
// numeric ts, every field of its type and length), so it is taken as it is; any other goes
// through the schema, which also words the error.

const optionalId = (v: unknown) => v === undefined || (typeof v === 'string' && v.length >= 1 && v.length <= 256)
const optionalText = (v: unknown, max: number) => v === undefined || (typeof v === 'string' && v.length <= max)
const plainRecord = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype

function baseConforms(c: Record<string, unknown>): boolean {
  const ts = c.ts
  return optionalId(c.id) && optionalId(c.project_id)
    && (ts === undefined || (typeof ts === 'number' && Number.isInteger(ts) && ts >= 0 && ts <= 8.64e15))
}

const MESSAGE_KEYS = new Set(['kind', 'id', 'ts', 'project_id', 'conversation_id', 'message_id', 'sender', 'recipient', 'content', 'message_type',
  'metadata', 'in_reply_to', 'agent_id', 'conversation_type', 'conversation_title'])
const GENERIC_KEYS = new Set(['kind', 'id', 'ts', 'project_id', 'type', 'agent_id', 'data'])

function onlyKeys(c: Record<string, unknown>, keys: Set<string>): boolean {
  for (const key in c) if (!keys.has(key)) return false
  return true
}

/** True when the event may skip its zod schema (it would pass unchanged); fills the schema's defaults. */
function conformsPlainly(kind: string, c: Record<string, unknown>): boolean {
  if (kind === 'message') {
    const type = c.message_type
    const ok = onlyKeys(c, MESSAGE_KEYS) && baseConforms(c)
      && typeof c.sender === 'string' && c.sender.length >= 1 && c.sender.length <= 256
      && typeof c.content === 'string' && c.content.length <= 1_000_000
      && (type === undefined || (typeof type === 'string' && type.length >= 1 && type.length <= 64))
      && optionalId(c.conversation_id) && optionalId(c.message_id) && optionalId(c.recipient) && optionalId(c.in_reply_to) && optionalId(c.agent_id)
      && optionalText(c.conversation_type, 64) && optionalText(c.conversation_title, 1024)
      && (c.metadata === undefined || plainRecord(c.metadata))
    if (ok && type === undefined) c.message_type = 'message'
    return ok
  }
  if (kind === 'generic') {
    return onlyKeys(c, GENERIC_KEYS) && baseConforms(c)
      && typeof c.type === 'string' && c.type.length >= 1 && c.type.length <= 256 && optionalId(c.agent_id)
  }
  return false
}

let path: IngestPath | undefined

export type IngestOptions = {
  /** Projects the sender may write to; `null`/absent: any. */
  projects?: string[] | null
  /** The project of events that name none (`default` otherwise). */
  defaultProject?: string
  /**
   * Runs inside the ingest transaction, after the events: writes that must commit together
   * with them or not at all (a connector's read offsets). Should it throw, nothing is stored.
   */
  inTransaction?: () => void
}

/** The single entry point for facts. `source` says who sent them (`api`, `marcus-log`, …). */
export function ingest(events: unknown[], source: string, options: IngestOptions = {}): IngestOutcome {
  const started = performance.now()
  const { sqlite } = useDatabase()
  if (!path || path.sqlite !== sqlite) path = new IngestPath(sqlite)
  const outcome = path.ingest(events, source, options)
  observeIngest(events, outcome.results, source, (performance.now() - started) / 1000)
  return outcome
}
