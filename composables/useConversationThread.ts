/**
 * A conversation's messages for the thread view: the newest page first, older pages on
 * demand, new messages appended live from the `conversations` channel. Messages live in a
 * shallow array appended in place (`version` counts the changes), so a thread of 100,000
 * messages is not copied for every live message.
 */
import { shallowRef, type Ref } from 'vue'
import type { ConversationMessage, MessageListResponse } from '~~/shared/conversations'
import type { AnyLogEvent } from '~/stores/realtime'

const PAGE = 500

export function useConversationThread(conversationId: Ref<string>, hooks: { loaded: () => void, prepended: (messages: ConversationMessage[]) => void, arrived: (message: ConversationMessage) => void }) {
  const api = useApi()
  const messages = shallowRef<ConversationMessage[]>([])
  const version = ref(0)
  const ids = new Set<string>()
  const hasOlder = ref(false)
  const loading = ref(true)
  const loadingOlder = ref(false)
  const error = ref<Error | null>(null)
  const types = ref<string[]>([])
  const path = computed(() => `/api/conversations/${encodeURIComponent(conversationId.value)}/messages`)

  function noteTypes(batch: ConversationMessage[]) {
    const next = new Set(types.value)
    for (const m of batch) next.add(m.message_type)
    if (next.size !== types.value.length) types.value = [...next].sort()
  }

  async function load() {
    loading.value = true
    ids.clear()
    messages.value = []
    try {
      const page = await api.get<MessageListResponse>(path.value, { limit: PAGE })
      for (const m of page.messages) ids.add(m.id)
      messages.value = page.messages
      hasOlder.value = page.has_more
      noteTypes(page.messages)
      error.value = null
      hooks.loaded()
    }
    catch (e) {
      error.value = e as Error
    }
    finally {
      loading.value = false
    }
  }

  async function loadOlder() {
    const first = messages.value[0]
    if (!first || loadingOlder.value || !hasOlder.value) return
    loadingOlder.value = true
    try {
      const page = await api.get<MessageListResponse>(path.value, { limit: PAGE, before: first.id })
      const older = page.messages.filter(m => !ids.has(m.id))
      for (const m of older) ids.add(m.id)
      messages.value = [...older, ...messages.value]
      hasOlder.value = page.has_more
      noteTypes(older)
      hooks.prepended(older)
    }
    catch (e) {
      error.value = e as Error
    }
    finally {
      loadingOlder.value = false
    }
  }

  useRealtimeChannel('conversations', (e: AnyLogEvent) => {
    if (e.event !== 'conversation_message' || e.data.conversation_id !== conversationId.value || ids.has(e.data.message.id) || loading.value) return
    const message: ConversationMessage = { ...e.data.message, metadata: e.data.message.metadata ?? {} }
    ids.add(message.id)
    messages.value.push(message)
    version.value++
    noteTypes([message])
    hooks.arrived(message)
  })
  useRealtimeResync(load)
  watch(conversationId, load, { immediate: true })

  return { messages, version, hasOlder, loading, loadingOlder, error, types, load, loadOlder }
}
