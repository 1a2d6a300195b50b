/** The running Marcus connectors of this process, for health and the connectors endpoint. */
import { MarcusLogTailer } from './tailer'

let tailer: MarcusLogTailer | undefined

export function startMarcusLogConnector(options: { root?: string, logDir?: string, pollMs?: number }) {
  tailer?.stop()
  tailer = new MarcusLogTailer(options)
  tailer.start()
  return tailer
}

export function stopMarcusConnectors() {
  tailer?.stop()
  tailer = undefined
}

export function marcusLogTailer(): MarcusLogTailer | undefined {
  return tailer
}
