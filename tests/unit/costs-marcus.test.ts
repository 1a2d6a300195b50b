/**
 * The Marcus token ledger import: a small `costs.db` with Marcus's `token_events` schema,
 * built in a temp dir, imported as priced usage — once, following new rows, and from where
 * it stopped after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MarcusCostsImporter, marcusTime, tokenRowToEvent } from '../../server/marcus/costs'
import { syncBuiltinPrices } from '../../server/utils/costs-admin'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'

/** Marcus's ledger tables as src/cost_tracking/cost_store.py creates them (the columns Seneca reads and a few it does not). */
const MARCUS_SCHEMA = `
CREATE TABLE token_events (
  event_id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL, project_id TEXT NOT NULL, agent_id TEXT NOT NULL, agent_role TEXT NOT NULL,
  parent_agent_id TEXT, task_id TEXT, subtask_id TEXT, operation TEXT NOT NULL, tool_intent TEXT,
  provider TEXT NOT NULL, model TEXT NOT NULL,
  input_tokens INTEGER NOT NULL DEFAULT 0, cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER GENERATED ALWAYS AS (input_tokens + cache_creation_tokens + cache_read_tokens + output_tokens) STORED,
  latency_ms INTEGER, session_id TEXT, turn_index INTEGER, request_id TEXT,
  status TEXT NOT NULL DEFAULT 'ok', error_type TEXT,
  timestamp TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX ux_te_request_id ON token_events(request_id) WHERE request_id IS NOT NULL;
CREATE TABLE project_names (project_id TEXT PRIMARY KEY, name TEXT NOT NULL, first_seen TIMESTAMP, last_seen TIMESTAMP);
`

let dir: string
let ledger: Database.Database

function call(fields: Partial<Record<string, string | number | null>>) {
  ledger.prepare(`INSERT INTO token_events (run_id, project_id, agent_id, agent_role, task_id, operation, provider, model,
    input_tokens, cache_creation_tokens, cache_read_tokens, output_tokens, request_id, timestamp)
    VALUES (@run_id, @project_id, @agent_id, @agent_role, @task_id, @operation, @provider, @model, @input_tokens, @cache_creation_tokens,
      @cache_read_tokens, @output_tokens, @request_id, @timestamp)`).run({
    run_id: 'run-1', project_id: 'proj-7f3a', agent_id: 'agent_unicorn_1', agent_role: 'worker', task_id: 'task-42', operation: 'turn',
    provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', input_tokens: 1_000_000, cache_creation_tokens: 0, cache_read_tokens: 0,
    output_tokens: 0, request_id: null, timestamp: '2026-03-02T09:00:00.000Z', ...fields,
  })
}

const usage = () => useDatabase().sqlite.prepare(`SELECT event_id, project_id, agent_id, task_id, provider, model, input_tokens, cache_write_tokens,
  cache_read_tokens, output_tokens, cost, cost_source, ts FROM cost_events ORDER BY seq`).all() as Record<string, unknown>[]

beforeEach(() => {
  setDatabase(openDatabase(':memory:'))
  syncBuiltinPrices()
  dir = mkdtempSync(join(tmpdir(), 'seneca-marcus-costs-'))
  ledger = new Database(join(dir, 'costs.db'))
  ledger.pragma('journal_mode = WAL')
  ledger.exec(MARCUS_SCHEMA)
})

afterEach(() => {
  ledger.close()
  rmSync(dir, { recursive: true, force: true })
  closeDatabase()
})

describe('the Marcus costs.db import', () => {
  it('maps a ledger row to a usage event with a stable id', () => {
    const row = {
      event_id: 3, run_id: 'run-1', project_id: 'p', agent_id: 'planner', agent_role: 'planner', task_id: null, provider: 'anthropic',
      model: 'claude-haiku-4-5', input_tokens: 10, cache_creation_tokens: 2, cache_read_tokens: 3, output_tokens: 4, request_id: 'req_1',
      timestamp: '2026-03-02 09:00:00',
    }
    expect(tokenRowToEvent(row)).toEqual({
      kind: 'cost.usage', id: 'marcus-cost:req_1', project_id: 'p', agent_id: 'planner', provider: 'anthropic', model: 'claude-haiku-4-5',
      input_tokens: 10, output_tokens: 4, cache_read_tokens: 3, cache_write_tokens: 2, ts: Date.UTC(2026, 2, 2, 9),
    })
    expect(tokenRowToEvent({ ...row, request_id: null }).id).toBe('marcus-cost:run-1:3')
    expect(marcusTime('2026-03-02T09:00:00.123Z')).toBe(Date.UTC(2026, 2, 2, 9) + 123)
  })

  it('imports the ledger priced by the price table, names new projects, and follows new rows', () => {
    ledger.prepare('INSERT INTO project_names (project_id, name) VALUES (?, ?)').run('proj-7f3a', 'Todo App')
    // 1M input × $3 = $3; 1M cache writes × $3.75 + 1M output × $15 = $18.75
    call({ request_id: 'req_a' })
    call({ input_tokens: 0, cache_creation_tokens: 1_000_000, output_tokens: 1_000_000, task_id: null, timestamp: '2026-03-02 09:05:00' })
    const importer = new MarcusCostsImporter(join(dir, 'costs.db'))
    expect(importer.importNew()).toBe(3) // the project and two usage events
    expect(usage()).toEqual([
      { event_id: 'marcus-cost:req_a', project_id: 'proj-7f3a', agent_id: 'agent_unicorn_1', task_id: 'task-42', provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', input_tokens: 1_000_000, cache_write_tokens: 0, cache_read_tokens: 0, output_tokens: 0, cost: 3, cost_source: 'estimated', ts: Date.UTC(2026, 2, 2, 9) },
      { event_id: 'marcus-cost:run-1:2', project_id: 'proj-7f3a', agent_id: 'agent_unicorn_1', task_id: null, provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', input_tokens: 0, cache_write_tokens: 1_000_000, cache_read_tokens: 0, output_tokens: 1_000_000, cost: 18.75, cost_source: 'estimated', ts: Date.UTC(2026, 2, 2, 9, 5) },
    ])
    expect(useDatabase().sqlite.prepare('SELECT name FROM projects WHERE id = ?').get('proj-7f3a')).toEqual({ name: 'Todo App' })
    expect(importer.importNew()).toBe(0)
    call({ request_id: 'req_b', model: 'qwen2.5-coder:7b', provider: 'local' })
    expect(importer.importNew()).toBe(1)
    expect(usage().at(-1)).toMatchObject({ event_id: 'marcus-cost:req_b', cost: 0, cost_source: 'estimated' })
    expect(importer.getStats()).toMatchObject({ state: 'following', imported: 3, last_event_id: 3 })
    importer.stop()
  })

  it('starts again after the last imported row', () => {
    call({ request_id: 'req_a' })
    const first = new MarcusCostsImporter(join(dir, 'costs.db'))
    first.importNew()
    first.stop()
    call({ request_id: 'req_b' })
    const second = new MarcusCostsImporter(join(dir, 'costs.db'))
    expect(second.importNew()).toBe(1)
    expect(usage().map(u => u.event_id)).toEqual(['marcus-cost:req_a', 'marcus-cost:req_b'])
    second.stop()
  })

  it('waits for a ledger that does not exist yet', () => {
    const importer = new MarcusCostsImporter(join(dir, 'later.db'))
    expect(importer.importNew()).toBe(0)
    expect(importer.getStats().state).toBe('waiting')
  })
})
