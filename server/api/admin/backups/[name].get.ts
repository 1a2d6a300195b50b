import { createReadStream, statSync } from 'node:fs'
import { backupNameParams } from '../../../../shared/operations'
import { backupPath } from '../../../utils/backup'

/** GET /api/admin/backups/:name (admin): downloads one backup file. */
export default defineEventHandler((event) => {
  requireRole(event, 'admin')
  const { name } = validated(backupNameParams, getRouterParams(event), 'params')
  const path = backupPath(name)
  if (!path) throw apiError('NOT_FOUND', `No backup named ${name}`, { name })
  event.context.audit = { action: 'backup.downloaded', target: name }
  setResponseHeaders(event, {
    'content-type': 'application/vnd.sqlite3',
    'content-length': statSync(path).size,
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'no-store',
  })
  return sendStream(event, createReadStream(path))
})
