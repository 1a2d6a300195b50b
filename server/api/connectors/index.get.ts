import { marcusLogTailer } from '../../marcus'

/** What each connector has read: files and offsets, record counts, malformed and unknown lines. */
export default defineEventHandler(() => {
  const stats = marcusLogTailer()?.getStats()
  return {
    connectors: stats ? [{ name: 'marcus-log', root: marcusLogTailer()!.logsRoot, ...stats }] : [],
  }
})
