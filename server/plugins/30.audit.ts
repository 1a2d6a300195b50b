/** Audits each API request once it has been answered (errors are audited by server/error.ts). */
export default defineNitroPlugin((nitroApp) => {
  nitroApp.hooks.hook('afterResponse', (event) => {
    auditRequest(event, event.node.res.statusCode)
  })
})
