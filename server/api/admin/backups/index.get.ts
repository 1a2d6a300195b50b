import type { z } from 'zod'
import type { backupListResponse } from '../../../../shared/operations'
import { listBackups } from '../../../utils/backup'

/** GET /api/admin/backups (admin): the backups in the backups folder, newest first. */
export default defineEventHandler((event) => {
  requireRole(event, 'admin')
  const backups = listBackups()
  return { directory: useConfig().backupDir, backups, total: backups.length } satisfies z.output<typeof backupListResponse>
})
