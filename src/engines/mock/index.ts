import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { NodeClock } from '../../adapters/clock/node-clock.js'
import { ConfigError, EngineError } from '../../core/errors.js'
import type { Clock } from '../../core/ports.js'
import type { GroundTruthRecord } from './ground-truth.js'
import { MockConfigSchema, type MockConfig, type MockConfigInput } from './mock-config.js'
import { MockEngine } from './mock-engine.js'
import type { MockPowerReading } from './power-trace.js'

export { MockConfigSchema, type MockConfig, type MockConfigInput } from './mock-config.js'
export type { GroundTruthChunk, GroundTruthChunkKind, GroundTruthOutcome, GroundTruthRecord } from './ground-truth.js'
export type { MockPowerReading } from './power-trace.js'
export { countTokens, countChatTokens } from './mock-tokenizer.js'

export interface MockServerOptions extends MockConfigInput {
  /**
   * Clock of the ground truth. Tests pass the client's clock so server and client times share one
   * timeline; by default the mock has its own NodeClock (times then compare by differences, or by wall ms).
   */
  readonly clock?: Clock
}

/** A running mock server. */
export interface MockServer {
  /** `http://host:port` (the server root: /health, /tokenize, /tokenwatt/power). */
  readonly url: string
  /** `http://host:port/v1`, what clients take as their base URL. */
  readonly baseUrl: string
  readonly port: number
  /** The validated configuration in force. */
  readonly config: MockConfig
  /** Every request's ground truth so far (newest `groundTruthLimit`), in arrival order. */
  groundTruth(): readonly GroundTruthRecord[]
  /** The synthetic power trace now (what `GET /tokenwatt/power` answers). */
  power(): MockPowerReading
  /** Stops listening, cuts open streams and flushes the ground-truth file. */
  close(): Promise<void>
}

/**
 * Starts the deterministic OpenAI-compatible mock on loopback (or `host`), for tests, benchmarks and
 * anyone checking their measurement chain against a server whose timing is known exactly.
 *
 * @example
 * const mock = await startMockServer({ port: 0, ttftMs: 20, itlMs: 5, faults: { rateLimit: { every: 10 } } })
 * const client = new OpenAIStreamClient({ baseUrl: mock.baseUrl, model: 'mock' })
 * // … send requests, then compare with mock.groundTruth()
 * await mock.close()
 */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const { clock = new NodeClock(), ...input } = options
  const parsed = MockConfigSchema.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ConfigError(`mock server: ${issue?.path.join('.') || '(options)'}: ${issue?.message ?? z.prettifyError(parsed.error)}`, {
      hint: 'see `tokenwatt mock-server --help` for the knobs and their ranges',
    })
  }
  const config = parsed.data
  const engine = new MockEngine(config, clock)
  try {
    await engine.groundTruth.ready()
  } catch (cause) {
    throw new EngineError(`mock server: cannot open the ground-truth file ${config.groundTruthFile ?? ''}: ${(cause as Error).message}`, {
      hint: 'check the path given to --ground-truth',
      cause,
    })
  }
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, noDelay: true }, engine.handle)
  server.headersTimeout = 66_000
  server.maxRequestsPerSocket = 0
  await listen(server, config.port, config.host).catch(async (cause: unknown) => {
    await engine.close()
    const code = (cause as NodeJS.ErrnoException).code
    throw new EngineError(`mock server: cannot listen on ${config.host}:${config.port}: ${code ?? (cause as Error).message}`, {
      hint: code === 'EADDRINUSE' ? 'the port is taken: pick another with --port (0 picks a free one)' : 'check --host and --port',
      cause,
    })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  let closing: Promise<void> | null = null
  return {
    url,
    baseUrl: `${url}/v1`,
    port: address.port,
    config,
    groundTruth: () => engine.groundTruth.all(),
    power: () => engine.power.read(),
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await engine.close()
        await closed
      })()
      return closing
    },
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    server.once('error', onError)
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', onError)
      resolve()
    })
  })
}
