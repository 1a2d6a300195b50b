import { priceIdParams, priceUpdateBody } from '../../../../shared/costs'
import { updatePrice } from '../../../utils/costs-admin'

/** PUT /api/costs/prices/{id}: change a custom price (the fields given); stored usage it applied or applies to is re-costed. */
export default defineEventHandler(async (event) => {
  const principal = principalOf(event)
  const { id } = validParams(event, priceIdParams)
  const body = validated(priceUpdateBody, await readJsonBody(event, 16 * 1024), 'body')
  const updated = updatePrice(principal, id, body, scopeFor(event))
  event.context.audit = { action: 'costs.price.update', projectId: updated.price.project_id ?? undefined, target: String(id) }
  return updated
})
