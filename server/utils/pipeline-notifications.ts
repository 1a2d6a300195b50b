/**
 * Notifications when a pipeline run completes or fails, to the channels its execute request
 * chose among those the pipeline configured: a webhook (JSON signed with HMAC-SHA256), a
 * Slack-compatible incoming webhook, email over SMTP. Only URLs an operator configured are
 * called. Each attempt is logged in `notification_deliveries`; network errors, 408, 429 and
 * 5xx answers are retried after SENECA_NOTIFY_RETRY_DELAYS_MS (default 1 s, 4 s, 16 s).
 */
import { createHmac } from 'node:crypto'
import { useConfig } from './config'
import { useDatabase } from './db'
import { newId } from './ids'
import { pipelineRunSnapshot } from './pipelines'
import { sendSmtpMail } from './smtp'

export function notificationRetryDelays(): number[] {
  return useConfig().notifications.retryDelaysMs
}

function timeoutMs(): number {
  return useConfig().notifications.timeoutMs
}

export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

type Attempt = { ok: boolean, retry: boolean, statusCode: number | null, error: string | null }
type Delivery = { deliveryId: string, projectId: string, pipelineId: string, runId: string, channel: string, event: string }

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

async function post(url: string, body: string, headers: Record<string, string>): Promise<Attempt> {
  try {
    const res = await fetch(url, {
      method: 'POST', body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs()),
      headers: { 'content-type': 'application/json', 'user-agent': 'Seneca-Notifications', ...headers },
    })
    await res.arrayBuffer().catch(() => undefined)
    const ok = res.status >= 200 && res.status < 300
    return { ok, retry: !ok && (res.status >= 500 || res.status === 408 || res.status === 429), statusCode: res.status, error: ok ? null : `HTTP ${res.status}` }
  }
  catch (error) {
    return { ok: false, retry: true, statusCode: null, error: (error as Error).message }
  }
}

function logAttempt(d: Delivery, attempt: number, result: Attempt, status: 'delivered' | 'retrying' | 'failed', durationMs: number) {
  useDatabase().sqlite.prepare(`INSERT INTO notification_deliveries (delivery_id, attempt, project_id, pipeline_id, run_id, channel, event, status, status_code, error, duration_ms, ts)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(d.deliveryId, attempt, d.projectId, d.pipelineId, d.runId, d.channel, d.event, status, result.statusCode, result.error, Math.round(durationMs), Date.now())
}

/** Tries, logs, waits and tries again while the failure is worth retrying. */
async function deliver(d: Delivery, send: () => Promise<Attempt>) {
  const delays = notificationRetryDelays()
  for (let attempt = 1; ; attempt++) {
    const started = performance.now()
    const result = await send()
    const last = result.ok || !result.retry || attempt > delays.length
    logAttempt(d, attempt, result, result.ok ? 'delivered' : last ? 'failed' : 'retrying', performance.now() - started)
    if (last) return
    await sleep(delays[attempt - 1]!)
  }
}

/** Sends the notifications of a finished run (completed or failed); never throws. */
export async function notifyPipelineRunFinished(runId: string): Promise<void> {
  try {
    const snap = pipelineRunSnapshot(runId)
    if (!snap || (snap.run.status !== 'completed' && snap.run.status !== 'failed')) return
    const event = `pipeline.run.${snap.run.status}`
    const channels = snap.run.notifications[snap.run.status === 'completed' ? 'on_completion' : 'on_failure'] ?? []
    const { stages, ...run } = snap.run
    const payload = { event, pipeline: snap.pipeline, run, stages }
    await Promise.all(channels.map(async (channel) => {
      const target = snap.targets.find(t => t.channel === channel)
      if (!target) return
      const d: Delivery = { deliveryId: newId('dlv'), projectId: snap.pipeline.project_id, pipelineId: snap.pipeline.id, runId, channel, event }
      const url = typeof target.config.url === 'string' ? target.config.url : ''
      if (channel === 'webhook') {
        const body = JSON.stringify({ ...payload, delivery_id: d.deliveryId })
        const secret = typeof target.config.secret === 'string' ? target.config.secret : ''
        await deliver(d, () => post(url, body, { 'X-Seneca-Signature': signWebhookBody(body, secret), 'X-Seneca-Event': event, 'X-Seneca-Delivery': d.deliveryId }))
      }
      else if (channel === 'slack') {
        const body = JSON.stringify(slackMessage(payload))
        await deliver(d, () => post(url, body, {}))
      }
      else if (channel === 'email') {
        const to = Array.isArray(target.config.to) ? target.config.to.filter((x): x is string => typeof x === 'string') : []
        await deliver(d, async () => {
          try {
            await sendSmtpMail(useConfig().notifications.smtpUrl ?? '', { from: useConfig().notifications.smtpFrom, to, subject: summary(payload), text: emailText(payload) })
            return { ok: true, retry: false, statusCode: 250, error: null }
          }
          catch (error) {
            return { ok: false, retry: true, statusCode: null, error: (error as Error).message }
          }
        })
      }
    }))
  }
  catch (error) {
    console.error('[seneca] pipeline notification failed', error)
  }
}

type Payload = { event: string, pipeline: { id: string, name: string }, run: { id: string, status: string, duration: number }, stages: { id: string, name: string, status: string, error: string | null }[] }

function summary(p: Payload): string {
  return `Pipeline ${p.pipeline.name}: run ${p.run.id} ${p.run.status} in ${Math.round(p.run.duration)} s`
}

function stageLines(p: Payload): string {
  return p.stages.map(s => `${s.status === 'completed' ? '✓' : s.status === 'failed' ? '✗' : '·'} ${s.name} (${s.status})${s.error ? `: ${s.error}` : ''}`).join('\n')
}

/** Slack's incoming-webhook shape: `text` as the fallback, `blocks` for the layout. */
export function slackMessage(p: Payload) {
  return {
    text: summary(p),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${p.pipeline.name}*: run \`${p.run.id}\` *${p.run.status}* in ${Math.round(p.run.duration)} s` } },
      { type: 'section', text: { type: 'mrkdwn', text: stageLines(p) } },
    ],
  }
}

function emailText(p: Payload): string {
  return `${summary(p)}\n\n${stageLines(p)}\n`
}
