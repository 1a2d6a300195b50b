/**
 * A private server on a data directory: the built server on a loopback port, for the commands
 * that write through the ingest path when no server runs there (`import`). It is the same code
 * as `seneca start`, so events enter exactly as they would through a running server.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { CliError, EXIT, serverEntry } from './common.mjs'

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => ok(port))
    })
  })
}

/** Starts it and waits until it answers; `stop()` ends it. First-start lines (the admin key) are passed on to stderr. */
export async function startPrivateServer({ dataDir, env = {} }) {
  const entry = serverEntry()
  if (!existsSync(entry)) throw new CliError(`the server is not built (${entry} is missing): run \`npm run build\` or \`seneca start\` once`, EXIT.FAILED)
  const port = await freePort()
  const childEnv = { ...process.env, HOST: '127.0.0.1', PORT: String(port), NITRO_PORT: String(port), SENECA_DATA_DIR: dataDir, SENECA_RATE_LIMITS: 'off', SENECA_LOG_LEVEL: 'warn', ...env }
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k]
  const child = spawn(process.execPath, [entry], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  const relay = (chunk) => {
    const text = chunk.toString()
    log += text
    for (const line of text.split('\n')) if (line.startsWith('[seneca]') && line.trim() !== '[seneca]') process.stderr.write(`${line}\n`)
  }
  child.stdout.on('data', relay)
  child.stderr.on('data', chunk => (log += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new CliError(`the server could not start on ${dataDir} (exit ${child.exitCode}):\n${log.trim()}`, child.exitCode === EXIT.CONFIG ? EXIT.CONFIG : EXIT.FAILED)
    try {
      const res = await fetch(`${url}/health`)
      if (res.status === 200 || res.status === 503) break
    }
    catch { /* not up yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new CliError(`the server did not start within 60 s:\n${log.trim()}`)
    }
    await new Promise(r => setTimeout(r, 100))
  }
  const stop = () => new Promise((ok) => {
    if (child.exitCode !== null) return ok()
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.once('exit', () => {
      clearTimeout(timer)
      ok()
    })
    child.kill('SIGTERM')
  })
  return { url, stop }
}
