import { priceBody } from '../../../../shared/costs'
import { createPrice } from '../../../utils/costs-admin'

/** POST /api/costs/prices: a custom price (admins) or a project override (members of the project); stored usage it applies to is re-costed. */
export default defineEventHandler(async (event) => {
  const principal = principalOf(event)
  const body = validated(priceBody, await readJsonBody(event, 16 * 1024), 'body')
  const created = createPrice(principal, body)
  event.context.audit = { action: 'costs.price.create', projectId: body.project_id ?? undefined, target: String(created.price.id) }
  setResponseStatus(event, 201)
  return created
})
