/**
 * Marcus's token ledger (`~/.marcus/costs.db`, table `token_events`: one row per LLM call
 * with run, project, agent, task, provider, model and input / cache-write / cache-read /
 * output tokens) imported as `cost.usage` events through the ingest path. Marcus prices at
 * query time, so the rows carry tokens only and Seneca estimates their cost.
 *
 * The database is opened read-only (Marcus keeps writing it in WAL mode); rows are read in
 * `event_id` order after the last one imported, which is remembered in `connector_state`,
 * so a restart neither re-imports nor skips. Event ids are stable (Marcus's `request_id`
 * when it has one, else run and row id), so an overlap is a no-op. Older ledgers that still
 * say `experiment_id` instead of `run_id` are read too.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import Database from 'better-sqlite3'
import type { RawEvent } from '../../shared/events'
import { useDatabase } from '../utils/db'
import { ingest } from '../utils/ingest'

const CONNECTOR = 'marcus-costs'

export type MarcusTokenRow = {
  event_id: number
  run_id: string | null
  project_id: string
  agent_id: string
  agent_role: string | null
  task_id: string | null
  provider: string
  model: string
  input_tokens: number
  cache_creation_tokens: number
  cache_read_tokens: number
  output_tokens: number
  request_id: string | null
  timestamp: string
}

/** Marcus writes `2026-05-11T09:00:00.123Z`; rows from before that fix have `2026-05-11 09:00:00` (UTC). */
export function marcusTime(value: string): number | undefined {
  const text = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(value) ? `${value.replace(' ', 'T')}Z` : value
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : ms
}

/** One ledger row as a usage event (pure; unit-tested). */
export function tokenRowToEvent(row: MarcusTokenRow): RawEvent {
  const id = row.request_id ? `marcus-cost:${row.request_id}` : `marcus-cost:${row.run_id ?? 'run'}:${row.event_id}`
  const ts = marcusTime(row.timestamp)
  return {
    kind: 'cost.usage', id, project_id: row.project_id, agent_id: row.agent_id, provider: row.provider, model: row.model,
    input_tokens: row.input_tokens, output_tokens: row.output_tokens, cache_read_tokens: row.cache_read_tokens, cache_write_tokens: row.cache_creation_tokens,
    ...(row.task_id ? { task_id: row.task_id } : {}),
    ...(ts === undefined ? {} : { ts }),
  }
}

export type MarcusCostsStats = {
  path: string
  state: 'waiting' | 'following' | 'error'
  imported: number
  rejected: number
  last_event_id: number
  last_error: string | null
}

export class MarcusCostsImporter {
  private timer: NodeJS.Timeout | undefined
  private source: Database.Database | undefined
  private lastEventId = 0
  private readonly stats: MarcusCostsStats

  constructor(path: string, private readonly options: { pollMs?: number, batch?: number } = {}) {
    this.stats = { path: resolve(path), state: 'waiting', imported: 0, rejected: 0, last_event_id: 0, last_error: null }
    const row = useDatabase().sqlite.prepare('SELECT value FROM connector_state WHERE connector = ? AND key = ?').get(CONNECTOR, this.stats.path) as { value: string } | undefined
    if (row) this.lastEventId = Number((JSON.parse(row.value) as { last_event_id?: number }).last_event_id ?? 0)
    this.stats.last_event_id = this.lastEventId
  }

  getStats(): MarcusCostsStats {
    return { ...this.stats }
  }

  private open(): Database.Database | undefined {
    if (this.source) return this.source
    if (!existsSync(this.stats.path)) return undefined
    const db = new Database(this.stats.path, { readonly: true, fileMustExist: true })
    db.pragma('busy_timeout = 2000')
    const hasTable = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'token_events'`).get()
    if (!hasTable) {
      db.close()
      return undefined
    }
    this.source = db
    return db
  }

  /** Imports what is new; returns how many events were stored. Never throws. */
  importNew(): number {
    try {
      const db = this.open()
      if (!db) {
        this.stats.state = 'waiting'
        return 0
      }
      const columns = new Set((db.prepare('PRAGMA table_info(token_events)').all() as { name: string }[]).map(c => c.name))
      const col = (name: string, fallback = 'NULL') => (columns.has(name) ? name : fallback)
      const run = columns.has('run_id') ? 'run_id' : col('experiment_id')
      const select = db.prepare(`SELECT event_id, ${run} AS run_id, project_id, agent_id, ${col('agent_role')} AS agent_role, ${col('task_id')} AS task_id,
        provider, model, input_tokens, ${col('cache_creation_tokens', '0')} AS cache_creation_tokens, ${col('cache_read_tokens', '0')} AS cache_read_tokens,
        output_tokens, ${col('request_id')} AS request_id, timestamp FROM token_events WHERE event_id > ? ORDER BY event_id LIMIT ?`)
      const names = this.projectNames(db)
      let stored = 0
      for (;;) {
        const rows = select.all(this.lastEventId, this.options.batch ?? 2000) as MarcusTokenRow[]
        if (!rows.length) break
        const events = [...this.newProjects(rows, names), ...rows.map(tokenRowToEvent)]
        const outcome = ingest(events, 'marcus-costs')
        stored += outcome.stored
        this.stats.imported += outcome.results.filter((r, i) => i >= events.length - rows.length && r.status === 'stored').length
        this.stats.rejected += outcome.rejected
        this.lastEventId = rows.at(-1)!.event_id
        this.save()
        if (rows.length < (this.options.batch ?? 2000)) break
      }
      this.stats.state = 'following'
      this.stats.last_error = null
      this.stats.last_event_id = this.lastEventId
      return stored
    }
    catch (error) {
      this.stats.state = 'error'
      this.stats.last_error = (error as Error).message
      this.source?.close()
      this.source = undefined
      return 0
    }
  }

  /** Marcus keeps readable project names next to the ledger; a project Seneca has not seen gets its name. */
  private projectNames(db: Database.Database): Map<string, string> {
    const has = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'project_names'`).get()
    if (!has) return new Map()
    return new Map((db.prepare('SELECT project_id, name FROM project_names').all() as { project_id: string, name: string }[]).map(r => [r.project_id, r.name]))
  }

  private newProjects(rows: MarcusTokenRow[], names: Map<string, string>): RawEvent[] {
    const known = useDatabase().sqlite.prepare('SELECT 1 FROM projects WHERE id = ?')
    return [...new Set(rows.map(r => r.project_id))]
      .filter(id => names.has(id) && !known.get(id))
      .map(id => ({ kind: 'project.upserted', project_id: id, name: names.get(id)! }))
  }

  private save() {
    useDatabase().sqlite.prepare(`INSERT INTO connector_state (connector, key, value, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(connector, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`)
      .run(CONNECTOR, this.stats.path, JSON.stringify({ last_event_id: this.lastEventId }), Date.now())
  }

  start() {
    this.importNew()
    this.timer = setInterval(() => this.importNew(), this.options.pollMs ?? 5000)
    this.timer.unref()
  }

  stop() {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.source?.close()
    this.source = undefined
  }
}

let importer: MarcusCostsImporter | undefined

export function startMarcusCostsImporter(path: string, options: { pollMs?: number } = {}): MarcusCostsImporter {
  importer?.stop()
  importer = new MarcusCostsImporter(path, options)
  importer.start()
  return importer
}

export function stopMarcusCostsImporter() {
  importer?.stop()
  importer = undefined
}

export function marcusCostsImporter(): MarcusCostsImporter | undefined {
  return importer
}
