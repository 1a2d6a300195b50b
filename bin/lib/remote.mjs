/**
 * Reaching a server from the CLI: which URL (flag, SENECA_URL, the server announced in the data
 * directory, or localhost:$PORT) and which credential (flag, SENECA_TOKEN, or a short-lived JWT
 * minted with the data directory's secret, as `seneca token` would).
 */
import { mintToken } from '../operator.mjs'
import { CliError, EXIT, runningServers, serverUrl } from './common.mjs'

export function resolveUrl(flag) {
  const explicit = flag || process.env.SENECA_URL
  if (explicit) return explicit.replace(/\/+$/, '')
  const [running] = runningServers()
  if (running) return serverUrl(running)
  return `http://localhost:${process.env.PORT || 3000}`
}

export async function resolveToken(flag, { role, projects }) {
  const explicit = flag || process.env.SENECA_TOKEN
  if (explicit) return explicit
  return mintToken({ sub: 'seneca-cli', role, projects, expires: '12h' })
}

/** fetch with the error of an unreachable server turned into exit code 3. */
export async function request(url, init = {}) {
  try {
    return await fetch(url, init)
  }
  catch (error) {
    throw new CliError(`cannot reach ${new URL(url).origin}: ${error.cause?.code ?? error.cause?.message ?? error.message} (is the server running? --url or SENECA_URL says where)`, EXIT.UNREACHABLE)
  }
}
