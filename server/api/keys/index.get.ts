/** GET /api/keys (admin): every key, without secrets. */
export default defineEventHandler((event) => {
  requireRole(event, 'admin')
  return listApiKeys()
})
