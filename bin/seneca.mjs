#!/usr/bin/env node
/**
 * The `seneca` command.
 *   seneca start   build if needed, then serve on $PORT (3000) with SQLite in $SENECA_DATA_DIR (./data)
 *   seneca demo    start on a fresh data directory and feed it a live Marcus session through the log connector
 *   seneca token   mint a JWT;  seneca keys create|list|revoke   manage API keys
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const entry = join(appRoot, '.output/server/index.mjs')

const usage = `Usage: seneca <command>

Commands:
  start    Serve Seneca (builds it first if needed). Port: $PORT (3000); data: $SENECA_DATA_DIR (./data)
  demo     Start Seneca on a fresh data directory and feed it a live Marcus session
           through the Marcus log connector. Stop with Ctrl-C.
  token    Mint a JWT signed with this instance's secret:
             seneca token --role member --projects shop,blog [--sub alice] [--expires 12h]
  keys     Manage API keys in $SENECA_DATA_DIR:
             seneca keys create --role viewer --projects shop [--name "grafana"]
             seneca keys list
             seneca keys revoke <key id>

Roles: admin, member, viewer, ingest. --projects '*' means every project.

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

async function operator(command, args) {
  const op = await import('./operator.mjs')
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { role: { type: 'string' }, projects: { type: 'string' }, sub: { type: 'string' }, expires: { type: 'string' }, name: { type: 'string' } },
  })
  try {
    if (command === 'token') {
      console.log(await op.mintToken({ sub: values.sub ?? 'operator', role: values.role ?? '', projects: op.parseProjects(values.projects), expires: values.expires ?? '12h' }))
      return
    }
    const [action, id] = positionals
    if (action === 'create') {
      const { id: keyId, key } = op.createKey({ name: values.name ?? `${values.role} key`, role: values.role ?? '', projects: op.parseProjects(values.projects) })
      console.log(`API key ${keyId} (shown once):\n${key}`)
    }
    else if (action === 'list') {
      for (const k of op.listKeys()) console.log(`${k.id}  ${k.prefix}…  ${k.role.padEnd(6)}  ${JSON.parse(k.projects).join(',')}  ${k.revoked_at ? 'revoked' : 'active'}  ${k.name}`)
    }
    else if (action === 'revoke' && id) {
      if (!op.revokeKey(id)) throw new op.UsageError(`no active key ${id}`)
      console.log(`revoked ${id}`)
    }
    else throw new op.UsageError('keys needs create, list or revoke <id>')
  }
  catch (error) {
    if (!(error instanceof op.UsageError)) throw error
    console.error(`seneca ${command}: ${error.message}`)
    process.exit(2)
  }
}

const [command, ...rest] = process.argv.slice(2)
switch (command) {
  case 'token':
  case 'keys':
    if (rest.includes('--help') || rest.includes('-h')) console.log(usage)
    else await operator(command, rest)
    break
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
