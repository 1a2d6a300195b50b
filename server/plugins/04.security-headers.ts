/**
 * Content-Security-Policy for the dashboard pages. Nuxt renders a few inline scripts (its
 * runtime config), so each page response gets a fresh nonce, written into those script tags and
 * into the policy; every other script must come from this origin. The static security headers
 * (nosniff, Referrer-Policy, X-Frame-Options, Permissions-Policy) are route rules in
 * nuxt.config.ts. Not in development, where Vite's hot reload needs inline and eval'd code.
 */
import { randomBytes } from 'node:crypto'
import { addScriptNonce, pageCsp } from '../utils/headers'

export default defineNitroPlugin((nitroApp) => {
  if (import.meta.dev) return
  nitroApp.hooks.hook('render:html', (html, { event }) => {
    const nonce = randomBytes(16).toString('base64')
    // Head tags and body-open/-close tags come from Nuxt and useHead; the app's own markup
    // (html.body) is left alone, so a script smuggled into rendered content never gets the nonce.
    html.head = html.head.map(chunk => addScriptNonce(chunk, nonce))
    html.bodyPrepend = html.bodyPrepend.map(chunk => addScriptNonce(chunk, nonce))
    html.bodyAppend = html.bodyAppend.map(chunk => addScriptNonce(chunk, nonce))
    setResponseHeader(event, 'Content-Security-Policy', pageCsp(nonce))
  })
})
