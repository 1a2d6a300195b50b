/**
 * The structured logger: one JSON object per line on stdout (pino), level from
 * SENECA_LOG_LEVEL. Writes are asynchronous (buffered by sonic-boom) so a busy server does
 * not make a system call per request; the buffer is flushed when the server closes.
 */
import pino, { type Logger } from 'pino'
import { useConfig } from './config'

let logger: Logger | undefined

export function useLogger(): Logger {
  logger ??= pino({
    level: useConfig().logLevel,
    base: { service: 'seneca' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: label => ({ level: label }) },
  }, pino.destination({ dest: 1, sync: false }))
  return logger
}

export function flushLogger() {
  try {
    logger?.flush()
  }
  catch { /* stdout already closed */ }
}
