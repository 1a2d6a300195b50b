/** Request and response shapes of the operations endpoints (backups, maintenance). */
import { z } from 'zod'

const time = z.iso.datetime()
const count = z.number().int().min(0)

/** A backup file's name as the server makes it; nothing with a path separator gets through. */
export const backupNameParams = z.object({
  name: z.string().regex(/^seneca-[\w.-]{1,100}\.db$/, 'a backup name as listed by GET /api/admin/backups (seneca-….db)'),
})

export const backupSchema = z.object({
  name: z.string(),
  bytes: count,
  created_at: time,
}).meta({ id: 'Backup' })

export const backupCreatedResponse = backupSchema.extend({
  /** Absolute path on the server. */
  path: z.string(),
  duration_ms: count,
  /** Where to download it. */
  download: z.string(),
}).meta({ id: 'BackupCreated' })

export const backupListResponse = z.object({
  directory: z.string(),
  backups: z.array(backupSchema),
  total: count,
}).meta({ id: 'BackupList' })

const kinds = z.object({ messages: count, events: count, cost_events: count })

export const maintenanceResponse = z.object({
  deleted: kinds,
  /** Per kind with retention on: rows with a time before this may be gone. */
  deleted_before: z.object({ messages: time, events: time, cost_events: time }).partial(),
  skipped: z.record(z.string(), z.string()),
  checkpoint: z.object({ busy: z.number(), log: z.number(), checkpointed: z.number() }).nullable(),
  vacuum: z.enum(['off', 'incremental', 'full', 'skipped']),
  duration_ms: count,
  database_bytes: count,
}).meta({ id: 'MaintenanceReport' })
