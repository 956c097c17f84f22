import { parentPort, workerData } from 'node:worker_threads'
import { NodeClock } from '../../clock/node-clock.js'
import { OpenAIStreamClient } from '../openai-client.js'
import type { FromThread, LoadThreadData, ToThread } from './thread-messages.js'

/**
 * A load thread of `--workers`: one OpenAIStreamClient with its own undici pool and event loop,
 * sending what the scheduling thread hands it and stamping chunks on the run's clock (the same
 * CLOCK_MONOTONIC epoch). Records go back whole (raw chunk times, not summaries), so a run merged from
 * several threads is exactly the run one thread would have recorded.
 */
const port = parentPort
if (port === null) throw new Error('load-thread.ts runs as a worker thread')
const data = workerData as LoadThreadData
const client = new OpenAIStreamClient({ ...data.options, clock: new NodeClock({ epochHr: data.epochHr, epochWallMs: data.epochWallMs }) })
const inflight = new Map<number, AbortController>()
let statsKey = ''

const post = (m: FromThread): void => port.postMessage(m)
/** The connection counts, only when they changed (connections open rarely; records are many). */
const changedStats = (): ReturnType<OpenAIStreamClient['connectionStats']> | undefined => {
  const s = client.connectionStats()
  const key = `${s.opened}/${s.connectErrors}/${s.staleRetries ?? 0}`
  if (key === statsKey) return undefined
  statsKey = key
  return s
}

port.on('message', (m: ToThread) => {
  switch (m.type) {
    case 'send': {
      const ac = new AbortController()
      inflight.set(m.id, ac)
      void client.send(m.request, ac.signal, m.postedAtNs).then((record) => {
        inflight.delete(m.id)
        const stats = changedStats()
        post({ type: 'record', id: m.id, record, leadNs: client.sendLeadNs(), ...(stats !== undefined ? { stats } : {}) })
      })
      return
    }
    case 'cancel':
      inflight.get(m.id)?.abort()
      return
    case 'warm':
      void client.warmConnections(m.connections).then(() => post({ type: 'done', id: m.id, stats: client.connectionStats() }))
      return
    case 'close':
      for (const ac of inflight.values()) ac.abort()
      void client.close().then(() => {
        post({ type: 'done', id: m.id, stats: client.connectionStats() })
        port.close()
      })
      return
  }
})
