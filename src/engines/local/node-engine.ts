/**
 * The in-process engine: node-llama-cpp behind our OpenAI-compatible HTTP server. `serve-local`
 * runs it in the CLI process; `startLocalEngine` runs it in a child process (node-engine-child.ts)
 * so the engine's CPU time, memory and event loop are not the benchmark client's.
 */
import { NodeLlamaBackend } from './node-llama-backend.js'
import { startOpenAiServer } from './openai-server.js'

export interface NodeEngineOptions {
  readonly modelPath: string
  readonly modelName: string
  readonly host: string
  readonly port: number
  readonly parallel: number
  /** Context length per sequence (tokens). */
  readonly ctx: number
  readonly threads: number
  readonly batchSize?: number
  readonly onLog?: (line: string) => void
}

export interface RunningNodeEngine {
  /** Server root, e.g. http://127.0.0.1:41234 */
  readonly url: string
  readonly port: number
  /** Load time of the model + context, for the start-time figures. */
  readonly loadMs: number
  close(): Promise<void>
}

export async function serveNodeEngine(o: NodeEngineOptions): Promise<RunningNodeEngine> {
  const started = performance.now()
  const backend = await NodeLlamaBackend.load({
    modelPath: o.modelPath,
    parallel: o.parallel,
    contextPerSequence: o.ctx,
    threads: o.threads,
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.onLog ? { onLog: o.onLog } : {}),
  })
  const loadMs = performance.now() - started
  try {
    const server = await startOpenAiServer({
      backend,
      modelName: o.modelName,
      host: o.host,
      port: o.port,
      props: { engine: 'node', model_path: o.modelPath, threads: o.threads, build_info: 'node-llama-cpp 3.21.1 (prebuilt llama.cpp)' },
    })
    return {
      url: server.url,
      port: server.port,
      loadMs,
      close: async () => {
        await server.close()
        await backend.dispose()
      },
    }
  } catch (e) {
    await backend.dispose()
    throw e
  }
}
