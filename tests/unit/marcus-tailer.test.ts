/**
 * The Marcus log connector's reading and storing, on the server's thread and with the reader
 * on a worker thread (bundled here as the build bundles it): the same events in the same
 * order either way, several batches, a partial last line, a batch that fails to store, stop.
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MarcusLogTailer, READER_FILE } from '../../server/marcus/tailer'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'

const repoRoot = resolve(import.meta.dirname, '../..')
const sessionA = resolve(repoRoot, '../shared/fixtures/marcus/session-a')
const PROJECT = 'proj-t'

const dirs: string[] = []
const tailers: MarcusLogTailer[] = []
let readerFile: string

function tempDir(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

beforeAll(async () => {
  readerFile = join(tempDir('seneca-reader-'), READER_FILE)
  await build({ entryPoints: [join(repoRoot, 'server/marcus/reader-worker.ts')], outfile: readerFile, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning' })
})

afterEach(() => {
  for (const t of tailers.splice(0)) t.stop()
  closeDatabase()
})

afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** `n` worker messages over four workers, a second apart, and every tenth also in the decisions file. */
function writeSession(root: string, n: number, from = 0) {
  const dir = join(root, 'logs/conversations')
  mkdirSync(dir, { recursive: true })
  let conversations = ''
  let decisions = ''
  for (let i = from; i < from + n; i++) {
    const line = JSON.stringify({
      worker_id: `w${i % 4}`, conversation_type: i % 2 ? 'pm_to_worker' : 'worker_to_pm', message: `note ${i} ${'x'.repeat(i % 50)}`,
      metadata: { project_id: PROJECT, task_id: `t${i % 40}`, progress: i % 100 }, timestamp: new Date(Date.UTC(2026, 2, 2, 9) + i * 1000).toISOString(),
      event: 'worker_communication', logger: 'worker', level: 'info',
    })
    conversations += `${line}\n`
    if (i % 10 === 0) decisions += `${line}\n`
  }
  appendFileSync(join(dir, 'conversations_20260302_090000.jsonl'), conversations)
  appendFileSync(join(dir, 'decisions_20260302_090000.jsonl'), decisions)
}

function tailer(root: string, readerWorker: string | false) {
  const t = new MarcusLogTailer({ root, readerWorker, pollMs: 20 })
  tailers.push(t)
  return t
}

function storedEvents() {
  return useDatabase().sqlite.prepare('SELECT id, kind, project_id, ts, payload FROM events ORDER BY seq').all()
}

const readers = { 'on the server thread': () => false as const, 'on a worker thread': () => readerFile }

describe.each(Object.entries(readers))('reading %s', (_, reader) => {
  it('backfills session-a: every line, none malformed or unknown, offsets at the ends of the files', async () => {
    setDatabase(openDatabase(':memory:'))
    const root = tempDir('seneca-marcus-')
    cpSync(sessionA, root, { recursive: true })
    const t = tailer(root, reader())
    await t.poll()
    const stats = t.getStats()
    expect(stats).toMatchObject({ lines: 1475, malformed: 0, unknown: 0, caught_up: true, project_id: '3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57', last_error: null })
    expect(stats.files).toHaveLength(4)
    for (const f of stats.files) expect(f.offset).toBe(f.size)
    expect(stats.events_stored).toBe(storedEvents().length)
  })

  it('stores several batches in time order, skips the decisions copies, and goes on from the saved offsets', async () => {
    setDatabase(openDatabase(':memory:'))
    const root = tempDir('seneca-marcus-')
    writeSession(root, 9000)
    const t = tailer(root, reader())
    await t.poll()
    expect(t.getStats()).toMatchObject({ lines: 9900, duplicate_lines: 900, caught_up: true, events_duplicate: 0 })
    const messages = useDatabase().sqlite.prepare(`SELECT count(*) AS n FROM messages`).get() as { n: number }
    expect(messages.n).toBe(9000)
    const ts = (storedEvents() as { ts: number }[]).map(e => e.ts)
    expect(ts).toEqual([...ts].sort((a, b) => a - b))

    // A line without its newline yet waits for it.
    writeSession(root, 10, 9000)
    appendFileSync(join(root, 'logs/conversations/conversations_20260302_090000.jsonl'), '{"worker_id": "w1", "mess')
    await t.poll()
    expect(t.getStats()).toMatchObject({ lines: 9911, duplicate_lines: 901 })

    // Another tailer on the same database (a restart) reads nothing again.
    t.stop()
    const again = tailer(root, reader())
    await again.poll()
    expect(again.getStats()).toMatchObject({ lines: 0, events_stored: 0, events_duplicate: 0, caught_up: true })
  })

  it('reads a batch that failed to store again from the offsets saved with the one before', async () => {
    setDatabase(openDatabase(':memory:'))
    const { sqlite } = useDatabase()
    // Every save after the first fails (so the second batch cannot be stored) until `failing` ends.
    let saves = 0
    let failing = true
    sqlite.function('fail_save', () => (failing && ++saves > 1 ? 1 : 0))
    sqlite.exec(`CREATE TEMP TRIGGER fail_save BEFORE INSERT ON connector_state WHEN fail_save() BEGIN SELECT RAISE(ABORT, 'disk full'); END`)
    const root = tempDir('seneca-marcus-')
    writeSession(root, 9000)
    const t = tailer(root, reader())
    await expect(t.poll()).rejects.toThrow('disk full')
    const first = t.getStats()
    expect(first.caught_up).toBe(false)
    expect(first.lines).toBeGreaterThan(0)
    expect(first.lines).toBeLessThan(9900)
    expect(first.events_stored).toBe(storedEvents().length)

    failing = false
    await t.poll()
    expect(t.getStats()).toMatchObject({ lines: 9900, caught_up: true, events_duplicate: 0 })
    expect((sqlite.prepare(`SELECT count(*) AS n FROM messages`).get() as { n: number }).n).toBe(9000)
  })
})

describe('the reader on a worker thread', () => {
  it('stores the same events in the same order as the reader on the server thread', async () => {
    const root = tempDir('seneca-marcus-')
    cpSync(sessionA, root, { recursive: true })
    writeSession(root, 6000)
    const results = []
    for (const reader of [false as const, readerFile]) {
      setDatabase(openDatabase(':memory:'))
      const t = tailer(root, reader)
      await t.poll()
      results.push({ stats: { ...t.getStats(), files: undefined }, events: storedEvents() })
      t.stop()
      closeDatabase()
    }
    expect(results[0]!.events.length).toBeGreaterThan(8000)
    expect(results[1]).toEqual(results[0])
  })

  it('ends with stop(), also in the middle of a backfill', async () => {
    setDatabase(openDatabase(':memory:'))
    const root = tempDir('seneca-marcus-')
    writeSession(root, 20_000)
    const t = tailer(root, readerFile)
    const pass = t.poll()
    await new Promise(r => setTimeout(r, 30))
    t.stop()
    await pass
    expect(t.getStats().caught_up).toBe(false)
    expect(t.getStats().last_error).toBeNull()
  })

  it('falls back to the server thread when the reader thread cannot start', async () => {
    setDatabase(openDatabase(':memory:'))
    const root = tempDir('seneca-marcus-')
    writeSession(root, 100)
    const broken = join(tempDir('seneca-reader-'), READER_FILE)
    writeFileSync(broken, 'throw new Error("no reader here")\n')
    const t = tailer(root, broken)
    await expect(t.poll()).rejects.toThrow()
    await t.poll()
    expect(t.getStats()).toMatchObject({ lines: 110, caught_up: true })
  })
})
