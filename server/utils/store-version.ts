/**
 * The store's version, for figures remembered until the data changes: the rows this
 * connection has inserted, updated or deleted since it opened (`total_changes()`, rows written
 * by triggers included) and the commits of other connections (`PRAGMA data_version`: another
 * process of a cluster, a CLI). Any write, by ingest, retention or anything else, changes it,
 * so a figure remembered under it is never stale (a rolled-back write changes it too, which
 * only costs a recomputation). Costs one tiny statement.
 */
import type { Statement } from 'better-sqlite3'
import type { Sqlite } from './db'

let statements: { sqlite: Sqlite, changes: Statement, others: Statement } | undefined

export function storeVersion(sqlite: Sqlite): string {
  if (statements?.sqlite !== sqlite) {
    // Two statements: the pragma_data_version() table function prepares the pragma anew on
    // every call, which cost more than the reads it saves.
    statements = { sqlite, changes: sqlite.prepare('SELECT total_changes()').pluck(), others: sqlite.prepare('PRAGMA data_version').pluck() }
  }
  return `${statements.changes.get() as number}.${statements.others.get() as number}`
}
