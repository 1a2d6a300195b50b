import { priceIdParams } from '../../../../shared/costs'
import { deletePrice } from '../../../utils/costs-admin'

/** DELETE /api/costs/prices/{id}: remove a custom price; stored usage it applied to is re-costed. */
export default defineEventHandler((event) => {
  const principal = principalOf(event)
  const { id } = validParams(event, priceIdParams)
  const { projectId, ...deleted } = deletePrice(principal, id, scopeFor(event))
  event.context.audit = { action: 'costs.price.delete', projectId: projectId ?? undefined, target: String(id) }
  return deleted
})
