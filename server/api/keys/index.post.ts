import { keyCreateBody } from '../../../shared/gateway'

/** POST /api/keys (admin): a new API key; the secret `key` is in this answer only. */
export default defineEventHandler(async (event) => {
  const principal = requireRole(event, 'admin')
  const body = validated(keyCreateBody, await readJsonBody(event, 16 * 1024), 'body')
  const created = createApiKey({ ...body, createdBy: principal.id })
  event.context.audit = { action: 'key.created', target: created.id }
  setResponseStatus(event, 201)
  return created
})
