/** The operations tables (re-exported by schema.ts). */
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * What retention has deleted, per data kind (`messages`, `events`, `cost_events`): every row
 * with `ts` before `deleted_before` may be gone. Code that rebuilds something from a kind's rows
 * (re-costing rebuilds cost rollups from `cost_events`) must leave what lies before it alone.
 */
export const retentionState = sqliteTable('retention_state', {
  kind: text('kind').primaryKey(),
  /** Epoch ms; for cost events always the start of a UTC month. */
  deletedBefore: integer('deleted_before').notNull(),
  rowsDeleted: integer('rows_deleted').notNull().default(0),
  updatedAt: integer('updated_at').notNull(),
})
