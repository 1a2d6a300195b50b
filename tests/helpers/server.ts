/**
 * Starts the built server (`.output/server/index.mjs`) as a child process on a free port
 * with its own data directory, as an operator would run it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { SignJWT } from 'jose'

export const repoRoot = resolve(import.meta.dirname, '../..')
export const fixturesRoot = resolve(repoRoot, '../shared/fixtures')
export const sessionA = join(fixturesRoot, 'marcus/session-a')
/** The built server; SENECA_OUTPUT_DIR points at another build folder. */
export const serverEntry = join(process.env.SENECA_OUTPUT_DIR ? resolve(process.env.SENECA_OUTPUT_DIR) : join(repoRoot, '.output'), 'server/index.mjs')

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => ok(port))
    })
  })
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
}

export function tempDir(prefix = 'seneca-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Credentials every test server starts with. */
export const TEST_JWT_SECRET = 'test-secret-for-seneca-tests-0123456789'
export const TEST_ADMIN_KEY = 'sk_test_admin_key_0123456789abcdefghij'

/** Admin credentials used by api() for each started server, unless a request sets its own. */
const defaultAuth = new Map<string, string>()

export type TokenOptions = { role?: 'admin' | 'member' | 'viewer' | 'ingest', projects?: string[], sub?: string, expiresIn?: string | number, secret?: string }

/** A JWT as an operator's identity provider would mint it (HS256 with the server's secret). */
export function mintTestToken(options: TokenOptions = {}): Promise<string> {
  return new SignJWT({ role: options.role ?? 'admin', projects: options.projects ?? ['*'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub ?? 'tester')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET))
}

export type TestServer = {
  url: string
  /** The admin API key the server was started with. */
  adminKey: string
  port: number
  dataDir: string
  output: () => string
  /** Stops the process (SIGTERM, SIGKILL after 5 s). */
  stop: () => Promise<void>
  /** Stops and starts again on the same port and data directory. */
  restart: (extraEnv?: Record<string, string>) => Promise<void>
  /** Stops it and removes the data directory. */
  dispose: () => Promise<void>
  /** The running process (to signal it, watch it exit). */
  child: () => ChildProcess | undefined
}

export async function startServer(env: Record<string, string | undefined> = {}, options: { entry?: string, cwd?: string } = {}): Promise<TestServer> {
  const port = await freePort()
  const dataDir = env.SENECA_DATA_DIR ?? tempDir()
  let child: ChildProcess | undefined
  let log = ''
  // Rate limits off unless a test turns them on: other tests send more than 100 requests a minute.
  let currentEnv = { SENECA_JWT_SECRET: TEST_JWT_SECRET, SENECA_ADMIN_KEY: TEST_ADMIN_KEY, SENECA_RATE_LIMITS: 'off', ...env }

  const launch = async () => {
    log = ''
    child = spawn(process.execPath, [options.entry ?? serverEntry], {
      cwd: options.cwd ?? tempDir('seneca-cwd-'),
      env: withoutUndefined({ ...process.env, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), SENECA_DATA_DIR: dataDir, ...currentEnv }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()))
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${log}`)
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`)
        if (res.status === 200 || res.status === 503) return
      }
      catch { /* not up yet */ }
      await new Promise(r => setTimeout(r, 100))
    }
    throw new Error(`server did not start within 30 s:\n${log}`)
  }

  const stop = async () => {
    const c = child
    if (!c || c.exitCode !== null) return
    await new Promise<void>((ok) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000)
      c.once('exit', () => {
        clearTimeout(timer)
        ok()
      })
      c.kill('SIGTERM')
    })
  }

  await launch()
  const url = `http://127.0.0.1:${port}`
  const adminKey = currentEnv.SENECA_ADMIN_KEY ?? TEST_ADMIN_KEY
  defaultAuth.set(url, adminKey)
  return {
    url,
    adminKey,
    port,
    dataDir,
    output: () => log,
    stop,
    restart: async (extraEnv = {}) => {
      await stop()
      currentEnv = { ...currentEnv, ...extraEnv }
      await launch()
    },
    dispose: async () => {
      await stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
    child: () => child,
  }
}

/**
 * JSON request helper that never throws on HTTP errors. Sends the server's admin key unless
 * `auth` says otherwise (`false`: no credentials; a string: that bearer credential).
 */
export async function api<T = any>(base: string, path: string, init: RequestInit & { json?: unknown, auth?: string | false } = {}): Promise<{ status: number, body: T, headers: Headers }> {
  const { json, auth, ...rest } = init
  const credential = auth === undefined ? defaultAuth.get(base) : auth
  const res = await fetch(base + path, {
    ...rest,
    headers: {
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      ...rest.headers,
    },
    body: json === undefined ? rest.body : JSON.stringify(json),
  })
  const text = await res.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  }
  catch { /* not JSON */ }
  return { status: res.status, body, headers: res.headers }
}

export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await check()
      if (v) return v
    }
    catch (error) {
      last = error
    }
    await new Promise(r => setTimeout(r, intervalMs))
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`)
}
