import { keyIdParams } from '../../../shared/gateway'

/** DELETE /api/keys/{id} (admin): revokes the key; it stays listed as revoked. */
export default defineEventHandler((event) => {
  requireRole(event, 'admin')
  const { id } = validParams(event, keyIdParams)
  event.context.audit = { action: 'key.revoked', target: id }
  return revokeApiKey(id)
})
