/**
 * Entry point of the child process that runs the node engine for `startLocalEngine`. It receives
 * its options as JSON in argv[2], reports `{type:'ready'}` or `{type:'error'}` over the IPC
 * channel, and exits when the parent disconnects (parent exit or crash) or sends SIGTERM.
 */
import { isTokenwattError } from '../../core/errors.js'
import { serveNodeEngine, type NodeEngineOptions } from './node-engine.js'

export type ChildMessage =
  | { readonly type: 'ready'; readonly url: string; readonly port: number; readonly loadMs: number }
  | { readonly type: 'error'; readonly message: string; readonly hint: string | null }
  | { readonly type: 'log'; readonly line: string }

function send(m: ChildMessage): void {
  process.send?.(m)
}

const options = JSON.parse(process.argv[2] ?? '{}') as NodeEngineOptions
let closing: Promise<void> | null = null
let close: () => Promise<void> = async () => undefined
const shutdown = (): void => {
  closing ??= close().finally(() => process.exit(0))
}
process.on('disconnect', shutdown)
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)

try {
  const engine = await serveNodeEngine({ ...options, onLog: (line) => send({ type: 'log', line }) })
  close = () => engine.close()
  send({ type: 'ready', url: engine.url, port: engine.port, loadMs: engine.loadMs })
  if (!process.connected) shutdown()
} catch (e) {
  const m: ChildMessage = { type: 'error', message: e instanceof Error ? e.message : String(e), hint: isTokenwattError(e) ? (e.hint ?? null) : null }
  if (process.send) process.send(m, () => process.exit(1))
  else process.exit(1)
}
