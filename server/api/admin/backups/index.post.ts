import type { z } from 'zod'
import type { backupCreatedResponse } from '../../../../shared/operations'
import { createBackup } from '../../../utils/backup'

/** POST /api/admin/backups (admin): an online, consistent copy of the database in the backups folder. */
export default defineEventHandler(async (event) => {
  requireRole(event, 'admin')
  await readNoBody(event)
  const backup = await createBackup()
  event.context.audit = { action: 'backup.created', target: backup.name }
  setResponseStatus(event, 201)
  return { ...backup, download: `/api/admin/backups/${backup.name}` } satisfies z.output<typeof backupCreatedResponse>
})
