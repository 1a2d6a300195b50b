import { z } from 'zod'
import { agentStatuses } from '../../../shared/events'
import { idParam } from '../../../shared/query'

const query = z.object({ project_id: idParam.optional(), status: z.enum(agentStatuses).optional() })

export default defineEventHandler((event) => {
  const filters = validQuery(event, query)
  return listAgents(filters, scopeFor(event, filters.project_id))
})
