/**
 * The realtime WebSocket, `/api/ws` (crossws). Thin: the upgrade is decided by
 * `prepareUpgrade` (connection cap, token from the query or the subprotocol) and every
 * connection, message and close goes to the realtime hub, which owns the protocol.
 */
import type { Peer } from 'crossws'
import { type RealtimePeer, attachOptions, crosswsConnection, prepareUpgrade, useRealtimeHub } from '../../utils/realtime'
import { isDraining, RETRY_AFTER_S } from '../../utils/shutdown'

const attached = new WeakMap<Peer, RealtimePeer>()

/** The hub's peer for a crossws peer; attached on open, or on the first message if that comes first. */
function hubPeer(peer: Peer): RealtimePeer {
  let known = attached.get(peer)
  if (!known) {
    const hub = useRealtimeHub()
    const created = hub.attach(crosswsConnection(peer, () => hub.touch(created)), attachOptions(peer.context))
    attached.set(peer, (known = created))
  }
  return known
}

function release(peer: Peer) {
  const known = attached.get(peer)
  if (known) useRealtimeHub().detach(known)
}

export default defineWebSocketHandler({
  // A server that is shutting down takes no new connections: the client retries elsewhere or later.
  upgrade: request => isDraining()
    ? new Response('server shutting down', { status: 503, headers: { 'Retry-After': String(RETRY_AFTER_S) } })
    : prepareUpgrade(request),
  open: (peer) => {
    hubPeer(peer)
  },
  message: (peer, message) => useRealtimeHub().receive(hubPeer(peer), message.text()),
  close: peer => release(peer),
  error: peer => release(peer),
})
