import { auditQuery } from '../../../shared/gateway'

/** GET /api/audit (admin): newest first; filters by principal, action prefix, project, result, time. */
export default defineEventHandler((event) => {
  requireRole(event, 'admin')
  return listAudit(validQuery(event, auditQuery))
})
