/**
 * Online backups with SQLite's backup API (better-sqlite3 `.backup()`): pages are copied in
 * steps between which the event loop runs, and writes made meanwhile through this connection
 * are carried into the copy, so the result is one consistent state of the database while
 * ingest goes on. A backup is written under a temporary name and renamed when complete, so a
 * listed backup is always whole.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { useConfig } from './config'
import { type Sqlite, useDatabase } from './db'

export type BackupInfo = { name: string, bytes: number, created_at: string }

const pattern = /^seneca-[\w.-]+\.db$/

/** `seneca-20261126T160602123Z.db`: sorts by time, safe in any file system. */
export function backupName(now = new Date()): string {
  return `seneca-${now.toISOString().replace(/[-:]/g, '').replace('.', '')}.db`
}

/** Copies the open database to `target` (a file path) online. */
export async function backupTo(target: string, sqlite: Sqlite = useDatabase().sqlite): Promise<{ bytes: number, duration_ms: number }> {
  const started = performance.now()
  const partial = `${target}.partial`
  rmSync(partial, { force: true })
  try {
    await sqlite.backup(partial)
    renameSync(partial, target)
  }
  catch (error) {
    rmSync(partial, { force: true })
    throw error
  }
  return { bytes: statSync(target).size, duration_ms: Math.round(performance.now() - started) }
}

/** A new backup in the backups folder (SENECA_BACKUP_DIR, default `<data dir>/backups`). */
export async function createBackup(): Promise<BackupInfo & { path: string, duration_ms: number }> {
  const dir = useConfig().backupDir
  mkdirSync(dir, { recursive: true })
  const now = new Date()
  const name = backupName(now)
  const path = join(dir, name)
  const { bytes, duration_ms } = await backupTo(path)
  return { name, path, bytes, created_at: now.toISOString(), duration_ms }
}

/** The time in a name made by `backupName`. */
function createdAt(name: string): string | undefined {
  const m = /^seneca-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z\.db$/.exec(name)
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z` : undefined
}

export function listBackups(): BackupInfo[] {
  const dir = useConfig().backupDir
  let names: string[]
  try {
    names = readdirSync(dir)
  }
  catch {
    return []
  }
  return names.filter(n => pattern.test(n)).sort().reverse().map((name) => {
    const st = statSync(join(dir, name))
    return { name, bytes: st.size, created_at: createdAt(name) ?? st.mtime.toISOString() }
  })
}

/** The path of a listed backup, or undefined. */
export function backupPath(name: string): string | undefined {
  if (!pattern.test(name) || basename(name) !== name) return undefined
  const path = join(useConfig().backupDir, name)
  try {
    return statSync(path).isFile() ? path : undefined
  }
  catch {
    return undefined
  }
}
