/**
 * Secure by default with zero configuration: on first start (no admin key yet) create the
 * JWT secret in the data directory if none is configured, an admin API key, and print the
 * key once with a dashboard sign-in URL. SENECA_ADMIN_KEY installs a chosen key instead.
 */
export default defineNitroPlugin(() => {
  jwtSecret()
  const chosen = process.env.SENECA_ADMIN_KEY
  // One write transaction for the check and the key: of processes starting together (the
  // cluster build's workers), exactly one creates it.
  const created = useDatabase().sqlite.transaction(() => {
    if (countAdminKeys() > 0) return undefined
    const key = createApiKey({ name: 'first admin', role: 'admin', projects: ['*'], createdBy: 'bootstrap', secret: chosen || undefined })
    recordAudit(undefined, { action: 'key.created', result: 'success', target: key.id, details: { bootstrap: true } }, { id: 'bootstrap', kind: 'api_key', role: 'admin', projects: '*' })
    return key
  }).immediate()
  if (!created) return
  if (chosen) {
    console.log('[seneca] admin API key installed from SENECA_ADMIN_KEY')
    return
  }
  const port = process.env.PORT || process.env.NITRO_PORT || '3000'
  console.log([
    '',
    '[seneca] First start: an admin API key was created. It is shown this once; store it now.',
    `[seneca]   admin key: ${created.key}`,
    `[seneca]   sign in:   http://localhost:${port}/login#key=${created.key}`,
    '[seneca]   use it:    curl -H "Authorization: Bearer <key>" http://localhost:' + port + '/api/conversations',
    '[seneca] More keys and tokens: npx seneca keys create --role viewer --projects <id>, npx seneca token --role member --projects <id>',
    '',
  ].join('\n'))
})
