/**
 * The operating commands of the `seneca` binary — import, tail, doctor, backup, restore, --help —
 * run as an operator runs them, against built servers on their own data directories.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { cpSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SHARED_REDIS_URL } from '../helpers/redis'
import { api, freePort, repoRoot, sessionA, startServer, tempDir, TEST_JWT_SECRET, type TestServer, waitFor } from '../helpers/server'

const execFileAsync = promisify(execFile)
const binary = join(repoRoot, 'bin/seneca.mjs')

type Run = { code: number, stdout: string, stderr: string }

/** Runs `seneca …` to its end; never throws on a non-zero exit. */
async function seneca(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const fullEnv = Object.fromEntries(Object.entries({ ...process.env, SENECA_JWT_SECRET: TEST_JWT_SECRET, NO_COLOR: '1', ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [binary, ...args], { env: fullEnv, timeout: 90_000 })
    return { code: 0, stdout, stderr }
  }
  catch (error) {
    const e = error as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

const message = (id: string, over: Record<string, unknown> = {}) => ({
  kind: 'message', id, project_id: 'shop', conversation_id: 'review', sender: 'planner', recipient: 'coder', message_type: 'request', content: `content of ${id}`, ...over,
})

function jsonl(dir: string, name: string, lines: unknown[]): string {
  const file = join(dir, name)
  writeFileSync(file, `${lines.map(l => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`)
  return file
}

let server: TestServer
const work = tempDir('seneca-cli-ops-')

beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server?.dispose()
})

describe('seneca --help', () => {
  it('explains every command and exits 0; a wrong option exits 2 with the way to help', async () => {
    for (const command of ['start', 'demo', 'tail', 'import', 'doctor', 'backup', 'restore', 'token', 'keys']) {
      const run = await seneca([command, '--help'])
      expect(run.code, command).toBe(0)
      expect(run.stdout, command).toMatch(new RegExp(`^Usage: seneca ${command}`))
    }
    expect((await seneca(['--help'])).stdout).toContain('Exit codes: 0 ok, 1 failed, 2 bad arguments')
    // start checks the configuration before building or serving anything.
    const start = await seneca(['start'], { SENECA_DATA_DIR: tempDir(), SENECA_LOG_LEVEL: 'chatty' })
    expect(start.code).toBe(78)
    expect(start.stderr.trim()).toBe('seneca start: configuration error: SENECA_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "chatty")')
    const wrong = await seneca(['import', '--bogus', 'x'])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('Run seneca import --help')
    expect((await seneca(['frobnicate'])).code).toBe(2)
  })
})

describe('seneca import', () => {
  it('sends a JSONL file to the server running on the data directory and sums up stored, duplicate and rejected', async () => {
    const file = jsonl(work, 'events.jsonl', [...Array.from({ length: 2500 }, (_, i) => message(`imp-${i}`)), 'not json', { kind: 'nope' }])
    const first = await seneca(['import', file, '--batch', '1000'], { SENECA_DATA_DIR: server.dataDir })
    expect(first.code).toBe(4)
    expect(first.stdout).toMatch(/2502 events .* stored 2500, duplicate 0, rejected 2/)
    expect(first.stderr).toContain('line 2501: INVALID_JSON')
    expect(first.stderr).toContain('line 2502: UNKNOWN_EVENT_KIND')
    expect((await api(server.url, '/api/conversations/review')).body.message_count).toBe(2500)

    const again = await seneca(['import', file, '--json'], { SENECA_DATA_DIR: server.dataDir })
    expect(JSON.parse(again.stdout)).toMatchObject({ events: 2502, stored: 0, duplicates: 2500, rejected: 2 })
    const clean = jsonl(work, 'clean.jsonl', [message('clean-1'), message('clean-2')])
    const ok = await seneca(['import', clean, '--url', server.url, '--json'])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ stored: 2, duplicates: 0, rejected: 0 })
  })

  it('imports a Marcus root into a data directory with no server, which then serves it', async () => {
    const dataDir = tempDir('seneca-cli-import-')
    const marcusRoot = tempDir('seneca-cli-marcus-')
    cpSync(sessionA, marcusRoot, { recursive: true })
    const run = await seneca(['import', marcusRoot, '--json'], { SENECA_DATA_DIR: dataDir, SENECA_ADMIN_KEY: server.adminKey })
    expect(run.code, run.stderr).toBe(0)
    const summary = JSON.parse(run.stdout)
    expect(summary.stored).toBeGreaterThan(50)
    expect(summary.marcus.lines).toBeGreaterThan(50)
    // The private server it imported with is gone.
    const doctor = JSON.parse((await seneca(['doctor', '--json'], { SENECA_DATA_DIR: dataDir })).stdout)
    expect(doctor.checks.find((c: { name: string }) => c.name === 'server').status).toBe('skip')

    // Offsets are saved: a second import finds nothing new.
    const again = JSON.parse((await seneca(['import', marcusRoot, '--json'], { SENECA_DATA_DIR: dataDir })).stdout)
    expect(again.stored).toBe(0)

    const imported = await startServer({ SENECA_DATA_DIR: dataDir })
    try {
      const conversations = await api(imported.url, '/api/conversations')
      expect(conversations.body.total).toBeGreaterThan(0)
      // A Marcus root is read by the data directory's own server: refused while one runs there.
      const refused = await seneca(['import', marcusRoot], { SENECA_DATA_DIR: dataDir })
      expect(refused.code).toBe(5)
      expect(refused.stderr).toContain('a server is running on')
    }
    finally {
      await imported.dispose()
    }
  })

  it.skipIf(!existsSync('/usr/bin/script'))('draws a progress bar on a terminal', async () => {
    const file = jsonl(work, 'progress.jsonl', Array.from({ length: 3000 }, (_, i) => message(`bar-${i}`, { conversation_id: 'bar' })))
    // script(1) gives the command a pseudo-terminal, as an operator's shell would.
    const { stdout } = await execFileAsync('/usr/bin/script', ['-qec', `${process.execPath} ${binary} import ${file} --url ${server.url} --batch 500`, '/dev/null'], {
      env: { ...process.env, SENECA_JWT_SECRET: TEST_JWT_SECRET, NO_COLOR: '1', SENECA_DATA_DIR: server.dataDir },
      timeout: 60_000,
    })
    expect(stdout).toContain('\r\u001B[2K')
    expect(stdout).toMatch(/100% 3000 events {2}stored 3000 {2}duplicate 0 {2}rejected 0/)
    expect(stdout).toMatch(/imported .*progress\.jsonl: 3000 events/)
  })

  it('says so with exit code 3 when the server cannot be reached', async () => {
    const file = jsonl(work, 'one.jsonl', [message('unreachable')])
    const run = await seneca(['import', file, '--url', `http://127.0.0.1:${await freePort()}`])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain('cannot reach')
  })
})

describe('seneca tail', () => {
  function startTail(args: string[], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [binary, 'tail', ...args], {
      env: { ...process.env, SENECA_JWT_SECRET: TEST_JWT_SECRET, NO_COLOR: '1', SENECA_DATA_DIR: server.dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out = { stdout: '', stderr: '' }
    child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()))
    return { child, out }
  }
  const exited = (child: ChildProcess) => new Promise<number | null>(ok => (child.exitCode !== null ? ok(child.exitCode) : child.once('exit', code => ok(code))))
  const ingest = (events: unknown[]) => api(server.url, '/api/ingest', { method: 'POST', json: { events } })

  it('follows the messages that match its filters, resumes after the server restarts, and stops on Ctrl-C', async () => {
    const { child, out } = startTail(['--project', 'shop', '--agent', 'tester', '--conversation', 'tail-a', '--json'])
    try {
      await waitFor(() => out.stderr.includes('connected'), 15_000)
      await ingest([
        message('t-1', { conversation_id: 'tail-a', sender: 'tester', content: 'first line' }),
        message('t-2', { conversation_id: 'tail-a', sender: 'someone-else', recipient: 'nobody', content: 'other agent' }),
        message('t-3', { conversation_id: 'tail-b', sender: 'tester', content: 'other conversation' }),
        message('t-4', { project_id: 'blog', conversation_id: 'tail-a', sender: 'tester', content: 'other project' }),
      ])
      await waitFor(() => out.stdout.includes('first line'))
      await server.restart()
      await ingest([message('t-5', { conversation_id: 'tail-a', sender: 'tester', content: 'after the restart' })])
      await waitFor(() => out.stdout.includes('after the restart'), 20_000)
      await ingest([message('t-6', { conversation_id: 'tail-a', recipient: 'tester', content: 'live again' })])
      await waitFor(() => out.stdout.includes('live again'))
      const shown = out.stdout.trim().split('\n').map(line => JSON.parse(line))
      expect(shown.map(f => f.data.message.id)).toEqual(['t-1', 't-5', 't-6'])
      expect(shown.map(f => f.seq)).toEqual([...shown.map(f => f.seq)].sort((a, b) => a - b))
      expect(out.stderr).toMatch(/connection lost .*resuming after seq \d+/)
    }
    finally {
      child.kill('SIGINT')
    }
    expect(await exited(child)).toBe(0)
  })

  it('prints one line per message, in colour when asked', async () => {
    const { child, out } = startTail(['--project', 'shop', '--conversation', 'tail-c', '--type', 'error'])
    const coloured = startTail(['--project', 'shop', '--conversation', 'tail-c', '--type', 'error', '--color'])
    try {
      await waitFor(() => out.stderr.includes('connected') && coloured.out.stderr.includes('connected'), 15_000)
      await ingest([message('c-1', { conversation_id: 'tail-c', message_type: 'error', content: 'it broke' }), message('c-2', { conversation_id: 'tail-c', content: 'a request' })])
      await waitFor(() => out.stdout.includes('it broke') && coloured.out.stdout.includes('it broke'))
      expect(out.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} tail-c planner → coder error\s+it broke\n$/)
      // The type in red, the time in grey.
      expect(coloured.out.stdout).toContain('\u001B[31merror     \u001B[39m')
      expect(coloured.out.stdout.startsWith('\u001B[90m')).toBe(true)
    }
    finally {
      child.kill('SIGINT')
      coloured.child.kill('SIGINT')
    }
    await exited(child)
    await exited(coloured.child)
  })

  it('exits 3 when no server answers, and when the credential is refused', async () => {
    const down = await seneca(['tail', '--url', `http://127.0.0.1:${await freePort()}`])
    expect(down.code).toBe(3)
    expect(down.stderr).toContain('cannot connect')
    const refused = await seneca(['tail', '--url', server.url, '--token', 'sk_not_a_key_0123456789abcdefghij'])
    expect(refused.code).toBe(3)
    expect(refused.stderr).toContain('refused the credential')
  })
})

describe('seneca doctor', () => {
  it('passes on a healthy data directory with Redis', async () => {
    expect((await api(server.url, '/api/admin/backups', { method: 'POST' })).status).toBe(201)
    const run = await seneca(['doctor', '--json'], { SENECA_DATA_DIR: server.dataDir, REDIS_URL: SHARED_REDIS_URL })
    const report = JSON.parse(run.stdout)
    expect(run.code, run.stdout).toBe(0)
    const status = Object.fromEntries(report.checks.map((c: { name: string, status: string }) => [c.name, c.status]))
    expect(status).toMatchObject({ config: 'ok', database: 'ok', wal: 'ok', migrations: 'ok', backups: 'ok', server: 'ok', redis: 'ok' })
  })

  it('names each problem with its fix and exits 1', async () => {
    const run = await seneca(['doctor'], {
      SENECA_DATA_DIR: server.dataDir,
      SENECA_RATE_LIMIT_PER_HOUR: 'many',
      MARCUS_ROOT: join(work, 'no-such-marcus'),
    })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/✖ config\s+SENECA_RATE_LIMIT_PER_HOUR must be a whole number ≥ 1 \(got "many"\)\n\s+→ fix or unset/)
    expect(run.stdout).toMatch(/✖ marcus logs .*does not exist\n\s+→ set MARCUS_ROOT/)

    const unreachable = await seneca(['doctor', '--json', '--timeout', '1000'], {
      SENECA_DATA_DIR: server.dataDir, MARCUS_MCP_URL: `http://127.0.0.1:${await freePort()}/mcp/`, REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    })
    expect(unreachable.code).toBe(1)
    const failed = JSON.parse(unreachable.stdout).checks.filter((c: { status: string }) => c.status === 'fail').map((c: { name: string }) => c.name)
    expect(failed).toEqual(['redis', 'marcus mcp'])
  })

  it('finds a damaged database', async () => {
    const dataDir = tempDir('seneca-cli-damaged-')
    writeFileSync(join(dataDir, 'seneca.db'), 'this is not a database')
    const run = await seneca(['doctor', '--json'], { SENECA_DATA_DIR: dataDir })
    expect(run.code).toBe(1)
    expect(JSON.parse(run.stdout).checks.find((c: { name: string }) => c.name === 'database')).toMatchObject({ status: 'fail', fix: expect.stringContaining('seneca restore') })
  })
})

describe('seneca backup and restore', () => {
  it('backs up while ingest goes on, refuses to restore under a running server, and a restored copy serves the same data', async () => {
    await api(server.url, '/api/ingest', { method: 'POST', json: { events: Array.from({ length: 30 }, (_, i) => message(`kept-${i}`, { conversation_id: 'kept', content: `kept content ${i}` })) } })
    // Steady ingest while the backup runs.
    let writing = true
    let sent = 0
    const writer = (async () => {
      while (writing) {
        await api(server.url, '/api/ingest', { method: 'POST', json: { events: Array.from({ length: 200 }, () => message(`bk-${sent++}`, { conversation_id: 'backup' })) } })
      }
    })()
    await waitFor(() => sent > 1000)
    const file = join(work, 'backup.db')
    const run = await seneca(['backup', file], { SENECA_DATA_DIR: server.dataDir })
    writing = false
    await writer
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/backed up .* events \(up to seq \d+\)/)

    // One consistent state: the log has no gap and every message event has its message.
    const copy = new Database(file, { readonly: true })
    const log = copy.prepare('SELECT count(*) AS n, max(seq) - min(seq) + 1 AS span FROM events').get() as { n: number, span: number }
    const messageEvents = (copy.prepare(`SELECT count(*) AS n FROM events WHERE kind = 'message' AND json_extract(payload, '$.conversation_id') = 'backup'`).get() as { n: number }).n
    const messages = (copy.prepare(`SELECT count(*) AS n FROM messages WHERE conversation_id = 'backup'`).get() as { n: number }).n
    const conversation = copy.prepare(`SELECT message_count FROM conversations WHERE id = 'backup'`).get() as { message_count: number }
    copy.close()
    expect(log.n).toBe(log.span)
    expect(messages).toBe(messageEvents)
    expect(conversation.message_count).toBe(messages)
    expect(messages).toBeGreaterThan(0)

    expect((await seneca(['backup', file], { SENECA_DATA_DIR: server.dataDir })).code).toBe(5)
    // Over HTTP: the server makes it, the CLI downloads and checks it.
    const remote = await seneca(['backup', join(work, 'remote.db'), '--url', server.url, '--token', server.adminKey], { SENECA_DATA_DIR: tempDir() })
    expect(remote.code, remote.stderr).toBe(0)
    expect(remote.stdout).toMatch(new RegExp(`backed up ${server.url} \\(seneca-\\d{8}T\\d{9}Z\\.db\\) to .*remote\\.db: .* events`))
    expect((await seneca(['backup', join(work, 'refused.db'), '--url', server.url, '--token', 'sk_not_a_key_0123456789abcdefghij'])).code).toBe(3)
    const refused = await seneca(['restore', file], { SENECA_DATA_DIR: server.dataDir })
    expect(refused.code).toBe(5)
    expect(refused.stderr).toContain('stop it first')

    // Into another data directory (stopped), then serve it.
    const restoredDir = tempDir('seneca-cli-restored-')
    const restored = await seneca(['restore', file], { SENECA_DATA_DIR: restoredDir })
    expect(restored.code, restored.stderr).toBe(0)
    const again = await startServer({ SENECA_DATA_DIR: restoredDir })
    try {
      const detail = await api(again.url, '/api/conversations/backup')
      expect(detail.body.message_count).toBe(messages)
      for (const path of ['/api/conversations/kept', '/api/conversations/kept/messages?limit=50', '/api/conversations/search?q=kept&conversation_id=kept&limit=5']) {
        expect((await api(again.url, path)).body, path).toEqual((await api(server.url, path)).body)
      }
    }
    finally {
      await again.stop()
    }

    // Restoring over an existing database keeps the old one aside.
    const over = await seneca(['restore', file], { SENECA_DATA_DIR: restoredDir })
    expect(over.stdout).toMatch(/previous database is kept as .*seneca\.db\.before-restore-/)
    const notADatabase = jsonl(work, 'not-a-database.db', [message('x')])
    const bad = await seneca(['restore', notADatabase], { SENECA_DATA_DIR: restoredDir })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('is not a usable SQLite database')
  })
})
