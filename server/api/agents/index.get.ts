import { z } from 'zod'
import { agentStatuses } from '../../../shared/events'
import { idParam } from '../../../shared/query'

const query = z.object({ project_id: idParam.optional(), status: z.enum(agentStatuses).optional() })

export default defineEventHandler(event => listAgents(validQuery(event, query)))
