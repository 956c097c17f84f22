/**
 * Ports: what the pure core and the runtime need from the outside world. Adapters implement them;
 * the CLI (composition root) picks which. Named by role; adapters are named by mechanism + role.
 */
import type { PowerSample, RequestPhase, RequestRecord } from './records.js'

/** Monotonic time relative to the run epoch, plus a wall-clock anchor. */
export interface Clock {
  /** Monotonic nanoseconds since this clock's epoch. */
  nowNs(): number
  /** Wall-clock milliseconds since the Unix epoch; for anchoring and aligning remote meters only. */
  wallMs(): number
  /** Resolves at or after the absolute time `atNs` (never a relative sleep); early on abort. */
  sleepUntil(atNs: number, signal?: AbortSignal): Promise<void>
  /** Resolves after one event-loop turn, once the I/O and timers already due have run: a yield, not a sleep. */
  nextTurn(): Promise<void>
}

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant'
  readonly content: string
}

/** What one request asks for. The client turns it into the API's JSON body. */
export interface InferenceRequest {
  readonly seq: number
  readonly phase: RequestPhase
  readonly userId: number | null
  readonly scheduledAtNs: number | null
  /** Completions: `text`; chat: `messages` (when only text is given, it becomes one user message). */
  readonly text: string | null
  readonly messages: readonly ChatMessage[] | null
  readonly maxTokens: number | null
  readonly targetInputTokens: number | null
  /** Keep the streamed content in `RequestRecord.responseText` (sessions carry it into the next turn). */
  readonly captureText?: boolean
  /** Extra headers for this request only (session affinity and correlation ids). */
  readonly headers?: Readonly<Record<string, string>>
  /** Session workloads: copied into the record (see RequestRecord.sessionId, turn, branch). */
  readonly session?: { readonly sessionId: number; readonly turn: number; readonly branch: number }
}

export interface TargetInfo {
  /** Base URL as used (ends with /v1). */
  readonly baseUrl: string
  readonly model: string
  /** Models the server lists, when it lists them. */
  readonly modelsListed: readonly string[]
  /** Server software if it says (Server header, /version). */
  readonly server: string | null
  /** Whether the server accepted `stream_options.include_usage`. */
  readonly streamsUsage: boolean
  /** Whether it reported usage on every chunk (vLLM continuous_usage_stats). */
  readonly perChunkUsage: boolean
  /** Which tokenize endpoint answered, if any. */
  readonly tokenizeEndpoint: string | null
}

export interface ConnectionStats {
  /** Connections opened over the whole run. */
  readonly opened: number
  /** Connection set-up time of each one (ms), apart from any TTFT. */
  readonly connectMs: readonly number[]
  /** When each connection was established (ns from the clock's epoch), same order as connectMs. */
  readonly connectedAtNs?: readonly number[]
  readonly connectErrors: number
  /** Requests resent once because the server had closed the keep-alive connection before reading them. */
  readonly staleRetries?: number
}

/** Where and with which clock a client stamps the arrival of stream chunks (said in the summary). */
export interface ChunkTimestamps {
  /**
   * `kernel-rx`: the kernel's receive time of each socket read (`SO_TIMESTAMPNS`), so time the client
   * spends on other streams before it reads does not count; `http-read`: stamped when the HTTP parser
   * hands a socket read to the client, before SSE parsing.
   */
  readonly source: 'kernel-rx' | 'http-read'
  /** `monotonic`: the process's monotonic clock (CLOCK_MONOTONIC through process.hrtime); kernel stamps are moved onto it. */
  readonly clock: 'monotonic'
  /** Why the stamps are `http-read` where `kernel-rx` was not possible (the platform, TLS, or asked for). */
  readonly fallback?: string
  /** What the stamp includes beyond the server's send time, in words. */
  readonly includes: string
}

/** Talks to an OpenAI-compatible endpoint. `send` never rejects: failures come back in the record. */
export interface InferenceClient {
  /** How this client stamps chunks. */
  readonly chunkTimestamps: ChunkTimestamps
  preflight(signal?: AbortSignal): Promise<TargetInfo>
  /** Opens up to `n` keep-alive connections now, so set-up falls outside the measured window. */
  warmConnections(n: number): Promise<void>
  /**
   * Sends one request. One with a `scheduledAtNs` is written no earlier than that instant: hand it
   * over `sendLeadNs()` before it, and the client's own set-up before the write happens inside that
   * lead instead of after the schedule (handed over earlier still, the client waits the rest).
   */
  send(request: InferenceRequest, signal?: AbortSignal): Promise<RequestRecord>
  /** How long before its `scheduledAtNs` a request should be handed to `send()` (ns, measured as it goes). */
  sendLeadNs(): number
  /**
   * Does now, ahead of its instant, the work `send()` of this same request object would do before the
   * write (serializing its body), so a burst of requests due together is not written one body-build
   * after another. Optional to call: an unprepared request is prepared by `send()`.
   */
  prepare(request: InferenceRequest): void
  /** Token count of `text` by the server's own tokenizer, or null when it has no tokenize endpoint. */
  tokenize(text: string): Promise<number | null>
  /** Prompt tokens the server counts for this request (a 1-token probe), or null. */
  probePromptTokens(request: InferenceRequest): Promise<number | null>
  connectionStats(): ConnectionStats
  close(): Promise<void>
}

export type Boundary = 'device' | 'node' | 'rack' | 'cluster' | 'facility'
export const BOUNDARIES: readonly Boundary[] = ['device', 'node', 'rack', 'cluster', 'facility']

export type MeterKind =
  | 'nvml'
  | 'nvidia-smi'
  | 'amd-smi'
  | 'rapl'
  | 'ipmi'
  | 'redfish'
  | 'snmp'
  | 'prometheus'
  | 'file'
  | 'estimate'
  | 'mock'

/** What a meter is and how far to trust it. */
export interface MeterInfo {
  readonly id: string
  readonly kind: MeterKind
  readonly boundary: Boundary
  /** True when the source has a cumulative energy counter (energy = counter difference). */
  readonly hasCounter: boolean
  /** Sampling period (ms). */
  readonly periodMs: number
  /** Averaging window of the source's power reading (ms); 0 for instant readings. */
  readonly averagingWindowMs: number
  /** Relative accuracy of a reading (e.g. 0.05 for ±5%). */
  readonly accuracyRel: number
  /** Absolute accuracy of a reading (W). */
  readonly accuracyW: number
  /** Whether this is a model rather than a measurement (the `estimate` meter). */
  readonly estimated: boolean
  readonly description: string
  /** Set when the meter reads only part of its boundary (e.g. `cpu+dram` for RAPL at `node`). */
  readonly component?: string
  /** Meters at one boundary in the same group measure the same equipment; different groups add up. */
  readonly group?: string
  /** Smallest step of a power reading (W), e.g. 1 for IPMI's integer watts. */
  readonly resolutionW?: number
  /** Smallest step of the energy counter (J). */
  readonly resolutionJ?: number
  /** Per channel: the value (J) at which the energy counter wraps to 0 (RAPL `max_energy_range_uj`). */
  readonly counterModulusJ?: Readonly<Record<string, number>>
  /** Per channel: the enforced power limit (W) read from the device, for provisioned-power figures. */
  readonly powerLimitW?: Readonly<Record<string, number>>
  /**
   * A remote meter's clock minus ours (ms) as the meter measured it (HTTP `Date` headers, Prometheus
   * evaluation times), with the half-width of the interval it lies in. Remote meters whose readings
   * carry no timestamp of their own report their offset only here.
   */
  readonly clockOffset?: { readonly offsetMs: number; readonly uncertaintyMs: number; readonly source: string }
  /** The node (server) the meter reads, when labelled (meter `node:`); for coverage checks. */
  readonly node?: string
  /** The rack of the metered equipment, when labelled. */
  readonly rack?: string
  /** Disaggregated serving: the pool of workers the meter reads (meter `pool:`). */
  readonly pool?: 'prefill' | 'decode'
  /** How far a sample's `atNs` may be from when the source took the reading (ms): a CLI's output stamped on arrival. */
  readonly timeUncertaintyMs?: number
}

export interface MeterPreflight {
  readonly ok: boolean
  /** Channels the meter will report (GPU UUIDs, RAPL zones, outlets). */
  readonly channels: readonly string[]
  readonly message: string
}

export interface PowerMeter {
  readonly info: MeterInfo
  /** Checks the meter can be read; throws MeterUnavailableError with a hint when it cannot. */
  preflight(): Promise<MeterPreflight>
  /** Starts sampling at the meter's own rate; every sample goes to `onSample`. */
  start(onSample: (sample: PowerSample) => void): Promise<void>
  /** Stops sampling, after taking one last sample so the window's end is covered. */
  stop(): Promise<void>
}

/** Something to tell the person watching (progress line, logs). Never on the per-chunk hot path. */
export type RunEvent =
  | { readonly type: 'phase'; readonly phase: 'preflight' | 'warmup' | 'measure' | 'drain' | 'analyze' | 'done'; readonly atNs: number }
  | { readonly type: 'request'; readonly record: RequestRecord }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'info'; readonly message: string }

export interface EventSink {
  emit(event: RunEvent): void
}

/** The worker threads that sent a run's load (`--workers`), as watched over the measured span. */
export interface ClientLoadThreads {
  /** Threads at the end of the run. */
  readonly count: number
  /** `fixed`: `--workers N`; `auto`: threads were added while the client was the limit. */
  readonly mode: 'fixed' | 'auto'
  /** Share of the span each thread's event loop was busy (0..1), in thread order; a thread added later counts from when it started. */
  readonly utilization: readonly number[]
  /** Threads `auto` added after the first: when (ns on the run clock) and why. */
  readonly added: readonly { readonly atNs: number; readonly reason: string }[]
}

export interface ClientMonitorResult {
  /** CPU cores the whole process used on average (every thread). */
  readonly cpuUtilization: number | null
  /** Event-loop delay p99 (ms) of the thread that schedules the load. */
  readonly eventLoopDelayP99Ms: number | null
  /** Present when worker threads sent the load: the busiest one, not the process, says whether the client was the limit. */
  readonly threads?: ClientLoadThreads
}

/** Watches the load generator's own process: CPU used and event-loop delay, to tell when it is the limit. */
export interface ClientMonitor {
  start(): void
  /** Stops watching and returns CPU cores used on average and the event-loop delay p99 (ms). */
  stop(): ClientMonitorResult
}

/**
 * One setting a sweep may change: a hardware limit (GPU power cap, SM clocks, CPU package limit), a
 * server restart with new flags, an embedded-engine option, or a load parameter. Hardware knobs
 * journal their original value before the first change so it can be restored after any exit.
 */
export interface KnobInfo {
  /** Sweep name, e.g. `gpu.power-limit-w`, `cpu.power-limit-w`, `engine.parallel`, `server.max_num_seqs`. */
  readonly name: string
  /** Unit of the value (`W`, `MHz`, `count`, `req/s`, ...). */
  readonly unit: string
  /** Changes hardware or system state that outlives the process, so it is journalled and restored. */
  readonly persistent: boolean
  /** Lowest and highest values the device accepts, where it says (NVML limit constraints, RAPL max). */
  readonly minValue?: number
  readonly maxValue?: number
  readonly description: string
}

/** What `set` achieved: the value asked for and the one the device enforces after it (clamps show). */
export interface KnobSetting {
  readonly requested: number
  readonly enforced: number
}

export interface Knob {
  readonly info: KnobInfo
  /** Checks the knob can be read and changed (permissions, driver); throws a one-line error with a hint. */
  preflight(): Promise<void>
  /** The value in force now. */
  read(): Promise<number>
  /** Applies `value` and reads back what is enforced. */
  set(value: number): Promise<KnobSetting>
  /** Puts back the value found before the first `set` (no-op when never set). */
  restore(): Promise<void>
  /**
   * The same, synchronously, for the process's exit path (a second Ctrl-C, `process.exit`), where
   * no promise is awaited any more. Persistent knobs implement it.
   */
  restoreSync?(): void
  /**
   * Power-throttle state, where the device reports it (NVML clock event reasons and the power
   * violation counter): a sweep reads it before and after a point to report time throttled for power.
   */
  readPowerThrottle?(): Promise<PowerThrottleReading>
}

/** What a device says about being held back for power at one instant. */
export interface PowerThrottleReading {
  /** Cumulative ns throttled by the power policy since the driver loaded (difference two readings); null when not reported. */
  readonly throttledForPowerNs: number | null
  /** Clocks are lowered now by the software power cap (nvmlClocksEventReasonSwPowerCap, 0x4). */
  readonly powerCapActive: boolean
  /** The hardware power brake (an external signal, 0x80) is slowing the clocks now. */
  readonly powerBrakeActive: boolean
}
