/**
 * `seneca doctor`: checks what a start depends on and says, for each problem, how to fix it.
 * Configuration (the server's own schema, server/utils/config.ts), the data directory, the
 * database (opens, migrations, `PRAGMA quick_check`, WAL mode and size), disk space, Redis
 * when REDIS_URL is set, and Marcus (log folder readable, MCP endpoint reachable).
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statfsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { appRoot, dataDir, databaseFile, EXIT, palette, runningServers, serverEntry, serverUrl } from './common.mjs'

export const help = `Usage: seneca doctor [--json] [--timeout <ms>]

Checks the configuration (every variable, as the server checks it at start), the data
directory, the database (opens, migrations, integrity quick_check, WAL), free disk space, backups,
Redis (when REDIS_URL is set) and Marcus (MARCUS_ROOT / MARCUS_LOG_DIR readable,
MARCUS_MCP_URL reachable). Prints what is wrong and how to fix it.

Options:
      --json            the checks as JSON
      --timeout <ms>    for network checks (default 3000)
  -h, --help            show this help

Exit codes: 0 nothing wrong (warnings allowed); 1 at least one check failed.`

const GB = 1024 ** 3

async function loadConfigModule() {
  const { createJiti } = await import('jiti')
  // The server's own schema, so doctor and the server never disagree about a value.
  return createJiti(import.meta.url).import(join(appRoot, 'server/utils/config.ts'))
}

function migrationsDir() {
  const candidates = [process.env.SENECA_MIGRATIONS_DIR, join(resolve(serverEntry(), '..'), 'migrations'), join(appRoot, 'drizzle/migrations')]
  return candidates.find(dir => dir && existsSync(join(dir, 'meta/_journal.json')))
}

function checkDatabase(add, Database) {
  const file = databaseFile()
  if (!existsSync(file)) {
    add('database', 'warn', `no database yet at ${file}`, 'it is created at the first `seneca start`')
    return
  }
  let sqlite
  try {
    sqlite = new Database(file, { readonly: true, fileMustExist: true })
  }
  catch (error) {
    add('database', 'fail', `cannot open ${file}: ${error.message}`, 'check the file\'s permissions; if it is damaged, restore a backup: seneca restore <file>')
    return
  }
  try {
    checkOpenDatabase(add, sqlite, file)
  }
  catch (error) {
    add('database', 'fail', `${file}: ${error.message}`, 'stop the server and restore the latest backup: seneca restore <file>')
  }
  finally {
    sqlite.close()
  }
}

function checkOpenDatabase(add, sqlite, file) {
  sqlite.pragma('busy_timeout = 5000')
  const check = sqlite.pragma('quick_check', { simple: false }).map(r => Object.values(r)[0])
  if (check.length === 1 && check[0] === 'ok') add('database', 'ok', `opens, quick_check ok (${file})`)
  else add('database', 'fail', `quick_check found problems: ${check.slice(0, 3).join('; ')}`, 'stop the server and restore the latest backup: seneca restore <file>')

  const mode = sqlite.pragma('journal_mode', { simple: true })
  const walFile = `${file}-wal`
  const wal = existsSync(walFile) ? statSync(walFile).size : 0
  const size = statSync(file).size
  if (mode !== 'wal') add('wal', 'warn', `journal_mode is ${mode}`, 'the server switches it to WAL at start; if it stays, the file system may not support shared memory (use a local disk)')
  else if (wal > GB) add('wal', 'warn', `WAL is ${(wal / GB).toFixed(1)} GB`, 'a long-running reader blocks checkpoints; the server checkpoints every SENECA_CHECKPOINT_INTERVAL_MS — restart it if the WAL keeps growing')
  else add('wal', 'ok', `WAL mode, database ${(size / 1024 / 1024).toFixed(1)} MB + WAL ${(wal / 1024 / 1024).toFixed(1)} MB`)

  const dir = migrationsDir()
  if (!dir) add('migrations', 'fail', 'migrations folder not found', 'set SENECA_MIGRATIONS_DIR or rebuild (npm run build)')
  else {
    const journal = JSON.parse(readFileSync(join(dir, 'meta/_journal.json'), 'utf8')).entries
    const hasTable = sqlite.prepare(`SELECT 1 FROM sqlite_master WHERE name = '__drizzle_migrations'`).get()
    const applied = hasTable ? sqlite.prepare('SELECT count(*) AS n, max(created_at) AS last FROM __drizzle_migrations').get() : { n: 0, last: 0 }
    const newest = Math.max(...journal.map(e => e.when))
    const pending = journal.filter(e => e.when > (applied.last ?? 0))
    if ((applied.last ?? 0) > newest) add('migrations', 'fail', 'the database was migrated by a newer Seneca than this one', 'run the newer version, or restore a backup made by this one')
    else if (pending.length) add('migrations', 'warn', `${pending.length} migration(s) pending: ${pending.map(e => e.tag).join(', ')}`, 'they are applied at the next start (back up first: seneca backup <file>)')
    else add('migrations', 'ok', `${applied.n} applied, up to date`)
  }
}

async function checkRedis(add, url, timeoutMs) {
  const { default: Redis } = await import('ioredis')
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  redis.on('error', () => { /* reported below */ })
  const started = Date.now()
  try {
    await redis.connect()
    const pong = await redis.ping()
    add('redis', pong === 'PONG' ? 'ok' : 'fail', `${redactUrl(url)} answers ${pong} in ${Date.now() - started} ms`)
  }
  catch (error) {
    add('redis', 'fail', `${redactUrl(url)}: ${error.message}`, 'start Redis or fix REDIS_URL (redis://[:password@]host:6379/0); without Redis unset REDIS_URL (cache and limits in memory)')
  }
  finally {
    redis.disconnect()
  }
}

function redactUrl(url) {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  }
  catch {
    return url
  }
}

function checkMarcusLogs(add) {
  const root = process.env.MARCUS_ROOT
  const logDir = process.env.MARCUS_LOG_DIR
  if (!root && !logDir) {
    add('marcus logs', 'skip', 'MARCUS_ROOT and MARCUS_LOG_DIR not set (log connector off)')
    return
  }
  const dir = logDir ? resolve(logDir) : resolve(root, 'logs/conversations')
  try {
    accessSync(dir, constants.R_OK | constants.X_OK)
    const files = readdirSync(dir).filter(n => n.endsWith('.jsonl'))
    if (!files.length) add('marcus logs', 'warn', `${dir} is readable but has no .jsonl files yet`, 'is Marcus running with conversation logging? Check MARCUS_ROOT points at the Marcus checkout')
    else add('marcus logs', 'ok', `${dir}: ${files.length} log file(s) readable`)
  }
  catch (error) {
    add('marcus logs', 'fail', `${dir}: ${error.code === 'ENOENT' ? 'does not exist' : error.message}`, logDir ? 'set MARCUS_LOG_DIR to Marcus\'s logs/conversations folder' : 'set MARCUS_ROOT to the Marcus checkout (the folder with logs/)')
  }
}

async function checkMarcusMcp(add, url, timeoutMs) {
  const started = Date.now()
  try {
    // Any HTTP answer means the endpoint is there: an MCP endpoint answers a bare GET with 4xx or a stream.
    const res = await fetch(url, { method: 'GET', headers: { accept: 'application/json, text/event-stream' }, signal: AbortSignal.timeout(timeoutMs) })
    res.body?.cancel().catch(() => {})
    if (res.status >= 500) add('marcus mcp', 'warn', `${url} answers HTTP ${res.status}`, 'Marcus is up but failing; see its logs')
    else add('marcus mcp', 'ok', `${url} reachable (HTTP ${res.status}, ${Date.now() - started} ms)`)
  }
  catch (error) {
    const reason = error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error.cause?.code ?? error.message)
    add('marcus mcp', 'fail', `${url}: ${reason}`, 'start Marcus (its MCP endpoint, e.g. http://localhost:4300/mcp/) or fix MARCUS_MCP_URL; unset it to run without the MCP connection')
  }
}

export async function doctor(args) {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, timeout: { type: 'string' } } })
  const timeoutMs = Number(values.timeout ?? 3000) || 3000
  const checks = []
  const add = (name, status, detail, fix) => checks.push({ name, status, detail, ...(fix ? { fix } : {}) })

  // Configuration
  let configOk = true
  try {
    const { checkEnv } = await loadConfigModule()
    const problems = checkEnv(process.env)
    configOk = problems.length === 0
    if (configOk) add('config', 'ok', 'every variable valid')
    for (const p of problems) add('config', 'fail', p, 'fix or unset the variable (README "Configuration")')
  }
  catch (error) {
    add('config', 'fail', `cannot load the configuration schema: ${error.message}`, 'reinstall (npm ci)')
  }

  // Data directory and disk
  const dir = dataDir()
  try {
    if (existsSync(dir)) {
      accessSync(dir, constants.W_OK)
      add('data dir', 'ok', `${dir} writable`)
    }
    else add('data dir', 'warn', `${dir} does not exist`, 'it is created at the first start; set SENECA_DATA_DIR to use another place')
  }
  catch {
    add('data dir', 'fail', `${dir} is not writable`, `give the server's user write access (chown/chmod), or set SENECA_DATA_DIR`)
  }
  try {
    const fs = statfsSync(existsSync(dir) ? dir : resolve(dir, '..'))
    const free = fs.bavail * fs.bsize
    const dbSize = existsSync(databaseFile()) ? statSync(databaseFile()).size : 0
    if (free < Math.max(GB / 2, dbSize)) add('disk', 'warn', `${(free / GB).toFixed(1)} GB free`, 'a backup and a VACUUM each need as much free space as the database; free space or set retention (SENECA_RETENTION_*)')
    else add('disk', 'ok', `${(free / GB).toFixed(1)} GB free`)
  }
  catch { /* statfs unsupported: skip */ }

  // Database
  let Database
  try {
    Database = (await import('better-sqlite3')).default
  }
  catch (error) {
    add('database', 'fail', `cannot load better-sqlite3: ${error.message}`, 'reinstall (npm ci) on this Node version')
  }
  if (Database) checkDatabase(add, Database)

  // Backups: the newest one in the backups folder (SENECA_BACKUP_DIR), if any.
  if (existsSync(databaseFile())) {
    const backupDir = resolve(dir, process.env.SENECA_BACKUP_DIR || 'backups')
    const backups = existsSync(backupDir) ? readdirSync(backupDir).filter(n => /^seneca-.*\.db$/.test(n)).map(n => ({ n, at: statSync(join(backupDir, n)).mtimeMs })).sort((a, b) => b.at - a.at) : []
    if (!backups.length) add('backups', 'warn', `none in ${backupDir}`, 'make one: seneca backup <file>, or POST /api/admin/backups (and copy it off this disk)')
    else {
      const days = (Date.now() - backups[0].at) / 86_400_000
      add('backups', days > 7 ? 'warn' : 'ok', `${backups.length} in ${backupDir}, newest ${backups[0].n} (${days < 1 ? 'today' : `${Math.floor(days)} day(s) ago`})`, days > 7 ? 'the newest backup is over a week old: seneca backup <file>' : undefined)
    }
  }

  const servers = runningServers(dir)
  if (servers.length) add('server', 'ok', `running on this data directory: ${servers.map(s => `pid ${s.pid} at ${serverUrl(s)}`).join(', ')}`)
  else add('server', 'skip', 'no server running on this data directory')

  if (process.env.REDIS_URL && configOk) await checkRedis(add, process.env.REDIS_URL, timeoutMs)
  else if (!process.env.REDIS_URL) add('redis', 'skip', 'REDIS_URL not set (cache and rate limits in memory)')
  checkMarcusLogs(add)
  if (process.env.MARCUS_MCP_URL && configOk) await checkMarcusMcp(add, process.env.MARCUS_MCP_URL, timeoutMs)
  else if (!process.env.MARCUS_MCP_URL) add('marcus mcp', 'skip', 'MARCUS_MCP_URL not set (MCP connection off)')

  const failed = checks.filter(c => c.status === 'fail').length
  const warned = checks.filter(c => c.status === 'warn').length
  if (values.json) console.log(JSON.stringify({ ok: failed === 0, failed, warnings: warned, checks }, null, 2))
  else {
    const c = palette()
    const mark = { ok: c.green('✔'), warn: c.yellow('!'), fail: c.red('✖'), skip: c.dim('-') }
    for (const check of checks) {
      console.log(`${mark[check.status]} ${check.name.padEnd(12)} ${check.status === 'skip' ? c.dim(check.detail) : check.detail}`)
      if (check.fix) console.log(`  ${' '.repeat(12)} ${c.cyan('→')} ${check.fix}`)
    }
    console.log(failed ? c.red(`\n${failed} problem(s), ${warned} warning(s)`) : c.green(`\nno problems${warned ? `, ${warned} warning(s)` : ''}`))
  }
  return failed ? EXIT.FAILED : EXIT.OK
}
