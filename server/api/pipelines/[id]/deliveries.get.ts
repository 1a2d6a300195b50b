import { pipelineDeliveriesQuery, pipelineParams, type PipelineDeliveriesResponse } from '../../../../shared/pipelines'

/** GET /api/pipelines/{id}/deliveries: the notification delivery log, every attempt, newest first. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, pipelineParams)
  const { limit } = validQuery(event, pipelineDeliveriesQuery)
  return listNotificationDeliveries(id, limit, scopeFor(event)) satisfies PipelineDeliveriesResponse
})
