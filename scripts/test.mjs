#!/usr/bin/env node
/**
 * `npm test`: builds the app once, then runs every test tier against it — unit, API (the
 * built server over HTTP) and browser (Playwright driving Debian's Chromium).
 * SENECA_SKIP_BUILD=1 reuses an existing `.output`. Extra arguments go to vitest.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

function run(cmd, args) {
  const result = spawnSync(cmd, args, { stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

const output = process.env.SENECA_OUTPUT_DIR || '.output'
if (process.env.SENECA_SKIP_BUILD !== '1' || !existsSync(join(output, 'server/index.mjs'))) {
  run('npx', ['nuxt', 'build'])
}
if (!existsSync(process.env.CHROMIUM_PATH || '/usr/bin/chromium')) {
  console.error('The browser tests need Chromium at /usr/bin/chromium (apt-get install -y chromium) or CHROMIUM_PATH.')
  process.exit(1)
}
run('npx', ['vitest', 'run', ...process.argv.slice(2)])
