/**
 * The SQLite database: one connection per process, WAL mode, migrations applied on open.
 * Hot paths use prepared statements on `sqlite`; other code may use the drizzle `db`.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import * as schema from '../../drizzle/schema'
import { useConfig } from './config'

export type Sqlite = Database.Database
export type Db = ReturnType<typeof drizzle<typeof schema>>

const statements = new WeakMap<Sqlite, Map<string, Database.Statement>>()

/**
 * A statement prepared once per database: preparing costs more than most of the reads on hot
 * paths. `raw`: rows come as arrays (better-sqlite3's raw mode), cheaper than keyed objects on
 * the hottest pages; raw mode belongs to the statement, so it is cached apart. The cache is
 * bounded, since some callers build SQL from their filters.
 */
export function prepared(sqlite: Sqlite, sql: string, raw = false): Database.Statement {
  let cache = statements.get(sqlite)
  if (!cache) statements.set(sqlite, (cache = new Map()))
  const key = raw ? `raw:${sql}` : sql
  let statement = cache.get(key)
  if (!statement) {
    if (cache.size >= 1000) cache.clear()
    statement = sqlite.prepare(sql)
    if (raw) statement.raw(true)
    cache.set(key, statement)
  }
  return statement
}

/** Where the generated migrations are: next to the built server, or in the repo. */
export function migrationsFolder(): string {
  const candidates = [
    process.env.SENECA_MIGRATIONS_DIR,
    process.argv[1] ? join(dirname(resolve(process.argv[1])), 'migrations') : undefined,
    resolve('drizzle/migrations'),
    resolve(dirname(new URL(import.meta.url).pathname), '../../drizzle/migrations'),
  ]
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, 'meta/_journal.json'))) return dir
  }
  throw new Error(`Database migrations not found (looked in ${candidates.filter(Boolean).join(', ')}); set SENECA_MIGRATIONS_DIR`)
}

/**
 * Opens (creating if needed) a database file, or `:memory:`, with migrations applied. The page
 * cache holds at most `cacheMb`: a thread page reads its messages from as many pages as it has
 * messages (they arrive between other conversations'), so a cache smaller than the threads being
 * read turns every page into file reads.
 */
export function openDatabase(file: string, cacheMb = 96): { sqlite: Sqlite, db: Db } {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const sqlite = new Database(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma(`cache_size = -${Math.round(cacheMb * 1024)}`)
  sqlite.pragma('temp_store = MEMORY')
  const db = drizzle(sqlite, { schema })
  migrate(db, { migrationsFolder: migrationsFolder() })
  return { sqlite, db }
}

let opened: { sqlite: Sqlite, db: Db } | undefined

export function useDatabase(): { sqlite: Sqlite, db: Db } {
  opened ??= openDatabase(join(useConfig().dataDir, 'seneca.db'), useConfig().sqliteCacheMb)
  return opened
}

/** Lets tests run the domain code against their own (in-memory) database. */
export function setDatabase(value: { sqlite: Sqlite, db: Db } | undefined) {
  opened = value
}

export function closeDatabase() {
  if (!opened) return
  try {
    opened.sqlite.pragma('wal_checkpoint(TRUNCATE)')
  }
  finally {
    opened.sqlite.close()
    opened = undefined
  }
}
