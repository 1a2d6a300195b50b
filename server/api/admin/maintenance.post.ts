import type { z } from 'zod'
import type { maintenanceResponse } from '../../../shared/operations'
import { runMaintenance } from '../../utils/maintenance'

/** POST /api/admin/maintenance (admin): runs the retention and vacuum pass now instead of waiting for its timer. */
export default defineEventHandler(async (event) => {
  requireRole(event, 'admin')
  await readNoBody(event)
  const report = await runMaintenance()
  event.context.audit = { action: 'maintenance.run' }
  return report satisfies z.output<typeof maintenanceResponse>
})
