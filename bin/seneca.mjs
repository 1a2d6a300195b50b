#!/usr/bin/env node
/**
 * The `seneca` command.
 *   seneca start   build if needed, then serve on $PORT (3000) with SQLite in $SENECA_DATA_DIR (./data)
 *   seneca demo    start on a fresh data directory and feed it a live Marcus session through the log connector
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const entry = join(appRoot, '.output/server/index.mjs')

const usage = `Usage: seneca <command>

Commands:
  start    Serve Seneca (builds it first if needed). Port: $PORT (3000); data: $SENECA_DATA_DIR (./data)
  demo     Start Seneca on a fresh data directory and feed it a live Marcus session
           through the Marcus log connector. Stop with Ctrl-C.

Options:
  -h, --help   Show this help`

function ensureBuilt() {
  if (existsSync(entry)) return
  console.error('[seneca] building the app (first run, about a minute)…')
  const result = spawnSync('npx', ['nuxt', 'build'], { cwd: appRoot, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error('[seneca] build failed')
    process.exit(1)
  }
}

function serve(env) {
  const child = spawn(process.execPath, [entry], { stdio: 'inherit', env: { ...process.env, ...env } })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  return child
}

async function demo() {
  const { MarcusSession } = await import('../demo/marcus-session.mjs')
  const base = mkdtempSync(join(tmpdir(), 'seneca-demo-'))
  const marcusRoot = join(base, 'marcus')
  const dataDir = join(base, 'data')
  const session = new MarcusSession(marcusRoot)
  session.start()
  const port = process.env.PORT || '3000'
  const child = serve({ SENECA_DATA_DIR: dataDir, MARCUS_ROOT: marcusRoot, PORT: port })
  console.log(`[seneca] demo: Marcus logs in ${marcusRoot}, data in ${dataDir}`)
  console.log(`[seneca] try: curl -s localhost:${port}/api/conversations | head -c 600`)
  const timer = setInterval(() => session.step(), Number(process.env.SENECA_DEMO_INTERVAL_MS || 700))
  child.on('exit', (code) => {
    clearInterval(timer)
    process.exit(code ?? 0)
  })
}

const [command] = process.argv.slice(2)
switch (command) {
  case 'start':
    ensureBuilt()
    serve({}).on('exit', code => process.exit(code ?? 0))
    break
  case 'demo':
    ensureBuilt()
    await demo()
    break
  case undefined:
  case '-h':
  case '--help':
  case 'help':
    console.log(usage)
    break
  default:
    console.error(`seneca: unknown command "${command}"\n\n${usage}`)
    process.exit(2)
}
