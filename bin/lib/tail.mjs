/**
 * `seneca tail`: follows the conversations of a project live over the WebSocket (/api/ws),
 * with filters and colours. After a drop it reconnects with `since_seq` = the last seq it
 * printed, so the missed messages are replayed in order and none is shown twice; when the
 * server cannot replay (`resync_required`) it says so and goes on live.
 */
import { parseArgs } from 'node:util'
import { CliError, EXIT, palette, usageError } from './common.mjs'
import { resolveToken, resolveUrl } from './remote.mjs'

export const help = `Usage: seneca tail [options]

Follow live conversations in the terminal (WebSocket /api/ws, channel "conversations").

Options:
  -p, --project <id>        only this project (default: every project the credential may read)
  -a, --agent <ids>         only messages from or to these agents (comma-separated)
  -t, --type <types>        only these message types (request,response,error,…)
  -c, --conversation <ids>  only these conversations
      --since-seq <seq>     first replay the messages after this event seq
      --json                one JSON event per line instead of formatted text
      --no-color            no colours (also when NO_COLOR is set or output is not a terminal)
      --color               colours even when output is not a terminal (e.g. into less -R)
      --url <url>           the server (default: $SENECA_URL, the server running on
                            $SENECA_DATA_DIR, or http://localhost:$PORT)
      --token <token>       JWT or API key (default: $SENECA_TOKEN, or a viewer token minted
                            with the data directory's secret)
  -h, --help                show this help

After a dropped connection tail reconnects and resumes from the last seq it showed.
Stop with Ctrl-C (exit 0). Exit 3: the server cannot be reached at start, or refused the credential.`

const list = v => (v ? String(v).split(',').map(s => s.trim()).filter(Boolean) : undefined)

async function webSocketClass() {
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket
  // Node 20 has no WebSocket without a flag; `ws` is installed with Nuxt (and as a dev dependency).
  return (await import('ws')).default
}

const senderColours = ['cyan', 'magenta', 'yellow', 'blue', 'green', 'brightCyan', 'brightMagenta', 'brightYellow', 'brightBlue', 'brightGreen']
const typeColours = { error: 'red', response: 'green', request: 'cyan', blocker: 'yellow', decision: 'magenta', assignment: 'blue', thinking: 'dim', status: 'gray', progress: 'gray' }

function hash(text) {
  let h = 0
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0
  return Math.abs(h)
}

export function formatMessage(data, c) {
  const m = data.message
  const time = (m.timestamp ?? '').slice(11, 23)
  const who = name => c[senderColours[hash(name) % senderColours.length]](name)
  const to = m.recipient ? ` ${c.dim('→')} ${who(m.recipient)}` : ''
  const type = (c[typeColours[m.message_type]] ?? c.blue)(m.message_type.padEnd(10))
  const content = String(m.content ?? '').replace(/\n/g, '\n    ')
  return `${c.gray(time)} ${c.dim(data.conversation_id)} ${who(m.sender)}${to} ${type} ${content}`
}

export async function tail(args) {
  const { values } = parseArgs({
    args,
    options: {
      'project': { type: 'string', short: 'p' },
      'agent': { type: 'string', short: 'a' },
      'type': { type: 'string', short: 't' },
      'conversation': { type: 'string', short: 'c' },
      'since-seq': { type: 'string' },
      'json': { type: 'boolean' },
      'no-color': { type: 'boolean' },
      'color': { type: 'boolean' },
      'url': { type: 'string' },
      'token': { type: 'string' },
    },
  })
  let lastSeq = null
  if (values['since-seq'] !== undefined) {
    if (!/^\d+$/.test(values['since-seq'])) throw usageError('--since-seq must be an event seq (a whole number)')
    lastSeq = Number(values['since-seq'])
  }
  const base = resolveUrl(values.url)
  const token = await resolveToken(values.token, { role: 'viewer', projects: values.project ? [values.project] : ['*'] })
  const filters = {
    ...(values.project ? { project_id: values.project } : {}),
    ...(list(values.agent) ? { agent_id: list(values.agent) } : {}),
    ...(list(values.type) ? { message_types: list(values.type) } : {}),
    ...(list(values.conversation) ? { conversation_id: list(values.conversation) } : {}),
  }
  const force = values.color ? true : values['no-color'] ? false : undefined
  const out = palette(process.stdout, force)
  const err = palette(process.stderr, force)
  const note = text => process.stderr.write(`${err.dim(`[seneca tail] ${text}`)}\n`)
  const WebSocket = await webSocketClass()
  const wsUrl = `${base.replace(/^http/, 'ws')}/api/ws`

  const show = (frame) => {
    if (frame.event === 'batch') {
      for (const inner of frame.data.events) show(inner)
      return
    }
    if (frame.event !== 'conversation_message') return
    if (lastSeq !== null && frame.seq <= lastSeq) return
    lastSeq = frame.seq
    process.stdout.write(`${values.json ? JSON.stringify(frame) : formatMessage(frame.data, out)}\n`)
  }

  let everConnected = false
  let resumed = false
  let gapFrom = null
  let stopping = false
  let socket
  let backoff = 500
  return new Promise((resolveDone, fail) => {
    const stop = () => {
      stopping = true
      socket?.close(1000)
      resolveDone(EXIT.OK)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)

    const connect = () => {
      const query = lastSeq === null ? '' : `?since_seq=${lastSeq}`
      socket = new WebSocket(wsUrl + query, ['seneca.v1', `bearer.${token}`])
      let established = false
      socket.addEventListener('message', (e) => {
        let frame
        try {
          frame = JSON.parse(String(e.data))
        }
        catch {
          return
        }
        switch (frame.event) {
          case 'connection_established':
            established = true
            everConnected = true
            backoff = 500
            resumed = lastSeq !== null
            if (lastSeq === null) {
              // Messages stored between this answer and the subscription are fetched with a resume
              // once subscribed; a drop before the first message also resumes from here.
              lastSeq = frame.data.latest_seq
              gapFrom = lastSeq
            }
            socket.send(JSON.stringify({ event: 'subscribe', data: { channels: ['conversations'], filters } }))
            break
          case 'subscription_confirmed':
            if (gapFrom !== null) socket.send(JSON.stringify({ event: 'resume', data: { since_seq: gapFrom } }))
            gapFrom = null
            note(resumed ? `connected to ${base}, resuming after seq ${lastSeq}` : `connected to ${base}, following${values.project ? ` project ${values.project}` : ''} from seq ${lastSeq}`)
            break
          case 'resync_required':
            note(`the server cannot replay what was missed (${frame.data.reason}); going on live from seq ${frame.data.latest_seq}`)
            lastSeq = frame.data.latest_seq
            break
          case 'resume_complete':
            if (frame.data.replayed && resumed) note(`replayed ${frame.data.replayed} missed event(s)`)
            break
          case 'server_restarting':
            note('the server is restarting; will reconnect')
            break
          case 'error':
            if (frame.data.code === 'FORBIDDEN' || frame.data.code === 'VALIDATION_FAILED') {
              stopping = true
              socket.close(1000)
              fail(new CliError(`the server refused the subscription: ${frame.data.message}`, frame.data.code === 'FORBIDDEN' ? EXIT.UNREACHABLE : EXIT.USAGE))
            }
            else note(`server error ${frame.data.code}: ${frame.data.message}`)
            break
          default:
            show(frame)
        }
      })
      socket.addEventListener('close', (e) => {
        if (stopping) return
        if (e.code === 4401 || e.code === 4403) {
          stopping = true
          fail(new CliError(`the server refused the credential (${e.code} ${e.reason || ''})`.trim(), EXIT.UNREACHABLE))
          return
        }
        if (!everConnected && !established) {
          stopping = true
          fail(new CliError(`cannot connect to ${wsUrl} (is the server running? --url or SENECA_URL says where)`, EXIT.UNREACHABLE))
          return
        }
        note(`connection lost (${e.code}${e.reason ? ` ${e.reason}` : ''}); reconnecting in ${backoff} ms${lastSeq === null ? '' : `, then resuming after seq ${lastSeq}`}`)
        setTimeout(connect, backoff)
        backoff = Math.min(backoff * 2, 10_000)
      })
      socket.addEventListener('error', () => { /* a close event follows */ })
    }
    connect()
  })
}
