#!/usr/bin/env node
/**
 * The `seneca` command (README "Operating Seneca"). Each command lives in bin/lib/ with its
 * own --help; this file dispatches and turns errors into one line and an exit code
 * (bin/lib/common.mjs EXIT).
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { appRoot, CliError, EXIT, serverEntry, usageError } from './lib/common.mjs'

const usage = `Usage: seneca <command> [options]        seneca <command> --help for more

Commands:
  start     serve Seneca (builds it first if needed): port $PORT (3000), data $SENECA_DATA_DIR (./data)
  demo      start on a fresh data directory fed by a live, simulated Marcus session
  tail      follow live conversations in the terminal (WebSocket), with filters and colours
  import    import a JSONL file of events or a Marcus root through the ingest path
  doctor    check configuration, database, Redis and Marcus; say what is wrong and how to fix it
  backup    online backup of the database to a file
  restore   replace the database with a backup (the server must be stopped)
  token     mint a JWT:      seneca token --role member --projects shop,blog [--sub alice] [--expires 12h]
  keys      API keys:        seneca keys create --role viewer --projects shop [--name grafana]
                             seneca keys list | seneca keys revoke <key id>

Roles: admin, member, viewer, ingest. --projects '*' means every project.

Exit codes: 0 ok, 1 failed, 2 bad arguments, 3 server unreachable or credential refused,
4 import finished with rejected events, 5 refused to protect data, 78 bad configuration,
130 interrupted.

Options:
  -h, --help   show this help`

const helps = {
  start: `Usage: seneca start

Serve the built Seneca (builds it first if .output is missing; SENECA_OUTPUT_DIR names another
build folder). Configuration comes from the environment (README "Configuration"); a bad value
stops the start with a one-line reason and exit code 78. Stop with Ctrl-C or SIGTERM.`,
  demo: `Usage: seneca demo

Start Seneca on a fresh temporary data directory and feed it a live, simulated Marcus session
through the Marcus log connector (one step every $SENECA_DEMO_INTERVAL_MS, 700). Stop with Ctrl-C.`,
  token: `Usage: seneca token --role <role> --projects <ids|*> [--sub <user>] [--expires <12h>]

Mint an HS256 JWT with this instance's secret ($SENECA_JWT_SECRET, or the one in the data
directory). Exit 2 on a bad role or projects.`,
  keys: `Usage: seneca keys create --role <role> --projects <ids|*> [--name <name>]
       seneca keys list
       seneca keys revoke <key id>

Manage API keys in the database of $SENECA_DATA_DIR (works with the server running or not).
The secret of a new key is printed once. Exit 2 on bad arguments or an unknown key.`,
}

function ensureBuilt() {
  if (existsSync(serverEntry())) return
  console.error('[seneca] building the app (first run, about a minute)…')
  const result = spawnSync('npx', ['nuxt', 'build'], { cwd: appRoot, stdio: 'inherit' })
  if (result.status !== 0) throw new CliError('build failed')
}

/** The server checks its configuration itself; checking first saves a build when a value is wrong. */
async function checkConfig() {
  const { createJiti } = await import('jiti')
  const { checkEnv } = await createJiti(import.meta.url).import(join(appRoot, 'server/utils/config.ts'))
  const [problem] = checkEnv(process.env)
  if (problem) throw new CliError(`configuration error: ${problem}`, EXIT.CONFIG)
}

function serve(env) {
  const child = spawn(process.execPath, [serverEntry()], { stdio: 'inherit', env: { ...process.env, ...env } })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  return new Promise(resolveExit => child.on('exit', (code, signal) => resolveExit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 0))))
}

async function demo() {
  const { MarcusSession } = await import('../demo/marcus-session.mjs')
  const base = mkdtempSync(join(tmpdir(), 'seneca-demo-'))
  const marcusRoot = join(base, 'marcus')
  const dataDir = join(base, 'data')
  const session = new MarcusSession(marcusRoot)
  session.start()
  const port = process.env.PORT || '3000'
  console.log(`[seneca] demo: Marcus logs in ${marcusRoot}, data in ${dataDir}`)
  console.log(`[seneca] try: curl -s localhost:${port}/api/conversations | head -c 600`)
  const timer = setInterval(() => session.step(), Number(process.env.SENECA_DEMO_INTERVAL_MS || 700))
  const code = await serve({ SENECA_DATA_DIR: dataDir, MARCUS_ROOT: marcusRoot, PORT: port })
  clearInterval(timer)
  return code
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
      return EXIT.OK
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
    return EXIT.OK
  }
  catch (error) {
    if (error instanceof op.UsageError) throw usageError(error.message)
    throw error
  }
}

async function commandHelp(command) {
  if (helps[command]) return helps[command]
  const modules = {
    tail: async () => (await import('./lib/tail.mjs')).help,
    import: async () => (await import('./lib/import.mjs')).help,
    doctor: async () => (await import('./lib/doctor.mjs')).help,
    backup: async () => (await import('./lib/backup.mjs')).backupHelp,
    restore: async () => (await import('./lib/backup.mjs')).restoreHelp,
  }
  return modules[command]?.()
}

async function run(command, rest) {
  switch (command) {
    case 'token':
    case 'keys':
      return operator(command, rest)
    case 'start':
      await checkConfig()
      ensureBuilt()
      return serve({})
    case 'demo':
      ensureBuilt()
      return demo()
    case 'tail':
      return (await import('./lib/tail.mjs')).tail(rest)
    case 'import':
      return (await import('./lib/import.mjs')).importCommand(rest)
    case 'doctor':
      return (await import('./lib/doctor.mjs')).doctor(rest)
    case 'backup':
      return (await import('./lib/backup.mjs')).backupCommand(rest)
    case 'restore':
      return (await import('./lib/backup.mjs')).restoreCommand(rest)
    default:
      throw usageError(`unknown command "${command}"`)
  }
}

const [command, ...rest] = process.argv.slice(2)
if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
  console.log(usage)
  process.exit(EXIT.OK)
}
if (rest.includes('--help') || rest.includes('-h')) {
  const text = await commandHelp(command)
  if (text) {
    console.log(text)
    process.exit(EXIT.OK)
  }
}
try {
  process.exitCode = await run(command, rest)
}
catch (error) {
  if (error instanceof CliError) {
    console.error(`seneca ${command}: ${error.message}`)
    if (error.code === EXIT.USAGE) console.error(`Run seneca ${helps[command] || ['tail', 'import', 'doctor', 'backup', 'restore'].includes(command) ? `${command} ` : ''}--help for usage.`)
    process.exit(error.code)
  }
  if (error?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || error?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || error?.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    console.error(`seneca ${command}: ${error.message}\nRun seneca ${command} --help for usage.`)
    process.exit(EXIT.USAGE)
  }
  console.error(`seneca ${command}: ${error?.stack ?? error}`)
  process.exit(EXIT.FAILED)
}
