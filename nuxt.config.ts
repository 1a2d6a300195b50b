import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export default defineNuxtConfig({
  modules: ['@pinia/nuxt', '@nuxt/eslint'],
  // The dashboards render in the browser: the credential lives in local storage, so the
  // server has nothing of the operator's to render.
  ssr: false,
  devtools: { enabled: false },
  app: {
    head: {
      title: 'Seneca',
      meta: [{ name: 'description', content: 'Observability and control for teams of AI agents' }],
    },
  },
  // Security headers on every response; the pages' Content-Security-Policy carries a per-response
  // nonce and is set by server/plugins/04.security-headers.ts.
  routeRules: {
    '/**': {
      headers: {
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'X-Frame-Options': 'DENY',
        'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
      },
    },
    '/api/**': { headers: { 'Content-Security-Policy': `default-src 'none'; frame-ancestors 'none'` } },
  },
  compatibilityDate: '2026-01-01',
  // Separate build folders let several builds of one checkout run side by side.
  ...(process.env.SENECA_BUILD_DIR ? { buildDir: process.env.SENECA_BUILD_DIR } : {}),
  nitro: {
    ...(process.env.SENECA_OUTPUT_DIR ? { output: { dir: process.env.SENECA_OUTPUT_DIR } } : {}),
    // Seneca's own cluster primary: refuses to start without Redis, drains workers on SIGTERM.
    // Its workers run Nitro's node-server runtime, bundled as with Nitro's own cluster entry.
    ...(process.env.NITRO_PRESET === 'node-cluster'
      ? {
          entry: fileURLToPath(new URL('./server/cluster/entry.ts', import.meta.url)),
          externals: { inline: ['nitropack/presets/node/runtime', fileURLToPath(new URL('./node_modules/nitropack/dist/presets/node/runtime', import.meta.url))] },
        }
      : {}),
    experimental: { websocket: true },
    hooks: {
      // Migrations are applied at boot; ship them next to the built server.
      async compiled(nitro) {
        cpSync(join(nitro.options.rootDir, 'drizzle/migrations'), join(nitro.options.output.serverDir, 'migrations'), { recursive: true })
        // The Marcus log reader runs on a worker thread, which loads a file of its own: bundled
        // here next to the server, where server/marcus/tailer.ts finds it (without it, as in
        // `nuxt dev`, the connector reads on the server's thread).
        if (nitro.options.dev) return
        const { build } = await import('esbuild')
        await build({
          entryPoints: [join(nitro.options.rootDir, 'server/marcus/reader-worker.ts')],
          outfile: join(nitro.options.output.serverDir, 'marcus-log-reader.mjs'),
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node20',
          sourcemap: true,
          logLevel: 'warning',
        })
      },
    },
  },
  typescript: { strict: true },
  telemetry: false,
  hooks: {
    // API errors leave as the envelope; page errors still get Nuxt's error page.
    'nitro:config'(config) {
      const nuxtHandler = config.errorHandler
      config.errorHandler = ['~~/server/error', ...(Array.isArray(nuxtHandler) ? nuxtHandler : nuxtHandler ? [nuxtHandler] : [])]
    },
  },
  eslint: { config: { stylistic: true } },
})
