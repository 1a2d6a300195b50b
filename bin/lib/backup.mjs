/**
 * `seneca backup <file>` and `seneca restore <file>`.
 *
 * backup: an online copy with SQLite's backup API (better-sqlite3 `.backup()`), from a
 * read-only connection of its own. It copies every page in one step, i.e. inside one read
 * transaction: in WAL mode that is a consistent snapshot, and the server goes on writing
 * meanwhile (a page-by-page copy would restart at each write of the server and might never end
 * under steady ingest). The copy is checked (`quick_check`) before it gets its final name.
 *
 * restore: puts a backup in place of the data directory's database. Refused while a server runs
 * on the data directory (its open connection would keep writing into the replaced file). The
 * current database is kept next to it as `seneca.db.before-restore-<time>` unless --discard.
 */
import { copyFileSync, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { CliError, EXIT, dataDir, databaseFile, duration, runningServers, usageError } from './common.mjs'
import { request, resolveToken } from './remote.mjs'

export const backupHelp = `Usage: seneca backup <file> [--force] [--url <url> [--token <token>]]

Copy the database of $SENECA_DATA_DIR to <file>, online: a running server goes on ingesting,
and the copy is one consistent state. The copy is checked with PRAGMA quick_check.
With --url (or $SENECA_URL) the server at that address makes the backup
(POST /api/admin/backups, an admin credential) and it is downloaded to <file>.

Options:
      --force            overwrite <file> if it exists
      --url <url>        back up a server over HTTP instead of the local data directory
      --token <token>    admin JWT or API key for --url (default: $SENECA_TOKEN, or one
                         minted with the data directory's secret)
  -h, --help             show this help

Exit codes: 0 done; 1 failed; 2 bad arguments; 3 server unreachable or credential refused;
5 <file> exists (use --force).`

export const restoreHelp = `Usage: seneca restore <file> [--discard]

Replace the database of $SENECA_DATA_DIR with the backup <file>. Stop the server first:
restore refuses while a server runs on the data directory. The current database is kept as
seneca.db.before-restore-<time> (unless --discard). A backup made by an older version is
migrated at the next start.

Options:
      --discard   delete the current database instead of keeping it
  -h, --help      show this help

Exit codes: 0 restored; 1 the file is not a usable Seneca database; 2 bad arguments;
5 a server is running on the data directory.`

async function openDatabase(file, options) {
  const { default: Database } = await import('better-sqlite3')
  return new Database(file, options)
}

/** quick_check plus the tables a Seneca database has; returns row counts for the summary. */
async function inspect(file) {
  let sqlite
  try {
    sqlite = await openDatabase(file, { readonly: true, fileMustExist: true })
    const check = sqlite.pragma('quick_check', { simple: false }).map(r => Object.values(r)[0])
    if (check.length !== 1 || check[0] !== 'ok') throw new CliError(`${file} fails PRAGMA quick_check: ${check.slice(0, 3).join('; ')}`)
    const tables = new Set(sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all().map(r => r.name))
    for (const t of ['events', 'messages', '__drizzle_migrations']) {
      if (!tables.has(t)) throw new CliError(`${file} is not a Seneca database (no ${t} table)`)
    }
    const count = t => sqlite.prepare(`SELECT count(*) AS n FROM ${t}`).get().n
    return { events: count('events'), messages: count('messages'), last_seq: sqlite.prepare('SELECT coalesce(max(seq), 0) AS n FROM events').get().n }
  }
  catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(`${file} is not a usable SQLite database: ${error.message}`)
  }
  finally {
    sqlite?.close()
  }
}

/** Has the server at `url` make a backup, then downloads it to `target`. */
async function backupOverHttp(url, token, target) {
  const started = Date.now()
  const headers = { authorization: `Bearer ${token}` }
  const created = await request(`${url}/api/admin/backups`, { method: 'POST', headers })
  const body = await created.json().catch(() => null)
  if (created.status === 401 || created.status === 403) throw new CliError(`the server refused the credential: ${body?.error?.message ?? created.status}`, EXIT.UNREACHABLE)
  if (created.status !== 201) throw new CliError(`POST /api/admin/backups answered ${created.status}: ${body?.error?.message ?? ''}`)
  const download = await request(url + body.download, { headers })
  if (download.status !== 200 || !download.body) throw new CliError(`GET ${body.download} answered ${download.status}`)
  const partial = `${target}.partial`
  try {
    await pipeline(Readable.fromWeb(download.body), createWriteStream(partial))
  }
  catch (error) {
    rmSync(partial, { force: true })
    throw new CliError(`download failed: ${error.message}`)
  }
  return { partial, started, origin: `${url} (${body.name})` }
}

export async function backupCommand(args) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { force: { type: 'boolean' }, url: { type: 'string' }, token: { type: 'string' } } })
  if (positionals.length !== 1) throw usageError('backup needs one target file')
  const target = resolve(positionals[0])
  const url = (values.url || process.env.SENECA_URL)?.replace(/\/+$/, '')
  if (url) {
    if (existsSync(target) && !values.force) throw new CliError(`${target} exists; use --force to overwrite it`, EXIT.REFUSED)
    if (!existsSync(dirname(target))) throw usageError(`${dirname(target)} does not exist`)
    const token = await resolveToken(values.token, { role: 'admin', projects: ['*'] })
    const { partial, started, origin } = await backupOverHttp(url, token, target)
    return finish(partial, target, origin, started)
  }
  const source = databaseFile()
  if (!existsSync(source)) throw new CliError(`no database at ${source} (is SENECA_DATA_DIR right?)`)
  if (existsSync(target) && !values.force) throw new CliError(`${target} exists; use --force to overwrite it`, EXIT.REFUSED)
  if (!existsSync(dirname(target))) throw usageError(`${dirname(target)} does not exist`)
  const started = Date.now()
  const partial = `${target}.partial`
  rmSync(partial, { force: true })
  const sqlite = await openDatabase(source, { readonly: true, fileMustExist: true })
  try {
    sqlite.pragma('busy_timeout = 5000')
    // Every remaining page in the next step: one read transaction, one snapshot.
    await sqlite.backup(partial, { progress: () => 0x7FFFFFFF })
  }
  catch (error) {
    rmSync(partial, { force: true })
    throw new CliError(`backup failed: ${error.message}`)
  }
  finally {
    sqlite.close()
  }
  return finish(partial, target, source, started)
}

/** Checks the copy, gives it its name, says what it holds. */
async function finish(partial, target, origin, started) {
  let summary
  try {
    summary = await inspect(partial)
  }
  catch (error) {
    rmSync(partial, { force: true })
    throw error
  }
  renameSync(partial, target)
  console.log(`backed up ${origin} to ${target}: ${(statSync(target).size / 1024 / 1024).toFixed(1)} MB, ${summary.events} events (up to seq ${summary.last_seq}), ${summary.messages} messages, in ${duration(Date.now() - started)}`)
  return EXIT.OK
}

export async function restoreCommand(args) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { discard: { type: 'boolean' } } })
  if (positionals.length !== 1) throw usageError('restore needs one backup file')
  const backup = resolve(positionals[0])
  if (!existsSync(backup)) throw usageError(`${backup}: no such file`)
  const dir = dataDir()
  const servers = runningServers(dir)
  if (servers.length) {
    throw new CliError(`a server is running on ${dir} (pid ${servers.map(s => s.pid).join(', ')}): stop it first, then restore`, EXIT.REFUSED)
  }
  const summary = await inspect(backup)
  mkdirSync(dir, { recursive: true })
  const target = databaseFile(dir)
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '')
  const partial = `${target}.restoring`
  copyFileSync(backup, partial)
  let kept = null
  if (existsSync(target)) {
    // Fold the WAL into the current file first, so the kept copy is whole by itself.
    const current = await openDatabase(target)
    try {
      current.pragma('wal_checkpoint(TRUNCATE)')
    }
    finally {
      current.close()
    }
    if (values.discard) rmSync(target)
    else {
      kept = `${target}.before-restore-${stamp}`
      renameSync(target, kept)
    }
  }
  for (const suffix of ['-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true })
  renameSync(partial, target)
  console.log(`restored ${backup} into ${target}: ${summary.events} events (up to seq ${summary.last_seq}), ${summary.messages} messages${kept ? `; the previous database is kept as ${kept}` : ''}`)
  return EXIT.OK
}
