/**
 * HTTP header policy of the gateway: CORS (SENECA_CORS_ORIGINS), conditional requests
 * (ETag / If-None-Match) and the dashboard's Content-Security-Policy.
 */

// ---------------------------------------------------------------------------------------
// CORS. Only configured origins are ever named in Access-Control-Allow-Origin — the
// request's Origin is compared, never echoed back blindly.

/** `https://App.example.com/` → `https://app.example.com`: how browsers serialise an Origin. */
export function normaliseOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase()
}

/**
 * The Access-Control-Allow-Origin value for a request from `origin`, or undefined when that
 * origin is not allowed. `*` in the list allows every origin without naming it (credentials
 * are bearer tokens, never cookies, so `*` does not expose a session).
 */
export function corsAllowOrigin(allowed: readonly string[], origin: string | undefined): string | undefined {
  if (!origin || allowed.length === 0) return undefined
  if (allowed.includes('*')) return '*'
  const wanted = normaliseOrigin(origin)
  return allowed.some(a => normaliseOrigin(a) === wanted) ? wanted : undefined
}

export const corsAllowMethods = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS'
export const corsAllowHeaders = 'Authorization, Content-Type, X-API-Key, X-Request-Id, If-None-Match'
export const corsExposeHeaders = 'X-Request-Id, ETag, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy'
/** Browsers may reuse a preflight answer this long (seconds). */
export const corsMaxAge = 600

// ---------------------------------------------------------------------------------------
// Conditional requests

/** If-None-Match holds this tag (weak comparison, RFC 9110 §13.1.2) or `*`. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((t) => {
    const tag = t.trim()
    return tag === '*' || tag.replace(/^W\//, '') === bare
  })
}

// ---------------------------------------------------------------------------------------
// Content-Security-Policy of the dashboard pages

/**
 * Scripts: the app's own files, plus the inline scripts Nuxt renders (its runtime config),
 * which carry the per-response nonce. Styles allow inline: Vue renders `style` attributes and
 * Nuxt inlines component CSS. Nothing may frame the dashboard.
 */
export function pageCsp(nonce: string): string {
  return [
    `default-src 'self'`,
    `script-src 'self' 'nonce-${nonce}'`,
    `style-src 'self' 'unsafe-inline'`,
    `img-src 'self' data: blob:`,
    `font-src 'self' data:`,
    `connect-src 'self'`,
    `worker-src 'self' blob:`,
    `object-src 'none'`,
    `base-uri 'self'`,
    `form-action 'self'`,
    `frame-ancestors 'none'`,
  ].join('; ')
}

/** API answers are data, never documents: nothing may load from them or frame them. */
export const apiCsp = `default-src 'none'; frame-ancestors 'none'`

/** Adds the nonce to every `<script` tag of framework-rendered HTML (never to the app body, which may hold user content). */
export function addScriptNonce(html: string, nonce: string): string {
  return html.replace(/<script(?=[\s>])/gi, `<script nonce="${nonce}"`)
}
