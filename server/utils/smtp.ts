/**
 * A minimal SMTP client for notification emails: `smtp://[user:pass@]host[:port]`, plain
 * text, AUTH PLAIN when credentials are given. No STARTTLS: point SENECA_SMTP_URL at a local
 * relay (Postfix, a sidecar) that handles onward TLS delivery.
 */
import { connect, type Socket } from 'node:net'

export type Mail = { from: string, to: string[], subject: string, text: string }

/** Reads one (possibly multi-line) SMTP reply. */
function replies(socket: Socket) {
  let buffer = ''
  const waiting: ((reply: { code: number, text: string }) => void)[] = []
  const ready: { code: number, text: string }[] = []
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8')
    let match: RegExpMatchArray | null
    // A reply ends with a line `NNN text` (a space, not a dash, after the code).
    while ((match = buffer.match(/^((?:\d{3}-[^\n]*\n)*)(\d{3})(?: [^\n]*)?\r?\n/))) {
      const reply = { code: Number(match[2]), text: match[0].trim() }
      buffer = buffer.slice(match[0].length)
      const next = waiting.shift()
      if (next) next(reply)
      else ready.push(reply)
    }
  })
  return () => new Promise<{ code: number, text: string }>((resolve) => {
    const r = ready.shift()
    if (r) resolve(r)
    else waiting.push(resolve)
  })
}

const header = (s: string) => s.replace(/[\r\n]+/g, ' ')

export async function sendSmtpMail(smtpUrl: string, mail: Mail, timeoutMs = 10_000): Promise<void> {
  const url = new URL(smtpUrl)
  if (url.protocol !== 'smtp:') throw new Error(`SENECA_SMTP_URL must be smtp://…, got ${url.protocol}`)
  const socket = connect({ host: url.hostname, port: Number(url.port || 25) })
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error('SMTP timeout')))
  const failed = new Promise<never>((_, reject) => socket.once('error', reject))
  const next = replies(socket)
  const expect = async (codes: number[], send?: string) => {
    if (send !== undefined) socket.write(`${send}\r\n`)
    const reply = await Promise.race([next(), failed])
    if (!codes.includes(reply.code)) throw new Error(`SMTP ${send?.split(' ')[0] ?? 'greeting'}: ${reply.text}`)
  }
  try {
    await expect([220])
    await expect([250], 'EHLO seneca')
    if (url.username) {
      const plain = Buffer.from(`\0${decodeURIComponent(url.username)}\0${decodeURIComponent(url.password)}`).toString('base64')
      await expect([235], `AUTH PLAIN ${plain}`)
    }
    await expect([250], `MAIL FROM:<${header(mail.from)}>`)
    for (const to of mail.to) await expect([250, 251], `RCPT TO:<${header(to)}>`)
    await expect([354], 'DATA')
    const body = mail.text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..')
    const message = [
      `From: ${header(mail.from)}`, `To: ${mail.to.map(header).join(', ')}`, `Subject: ${header(mail.subject)}`,
      `Date: ${new Date().toUTCString()}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body,
    ].join('\r\n')
    await expect([250], `${message}\r\n.`)
    await expect([221], 'QUIT').catch(() => undefined)
  }
  finally {
    socket.destroy()
  }
}
