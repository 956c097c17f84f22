/**
 * Run-level failures: typed errors with a stable code, a hint and a documented exit code. The CLI is
 * the only place that catches them; it prints `message`, then `hint:`, and exits with `exitCode`.
 * Per-request failures are not errors: they are data in the RequestRecord.
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Preflight: 3,
  MeterUnavailable: 4,
  NotFound: 5,
  InvalidRun: 6,
  KnobFailed: 7,
  ShardsInvalid: 8,
  ClaimFailed: 98,
  SloFailed: 99,
  Interrupted: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export interface TokenwattErrorOptions {
  readonly hint?: string
  readonly cause?: unknown
}

export abstract class TokenwattError extends Error {
  abstract readonly code: `TW_${string}`
  readonly exitCode: ExitCode = ExitCode.Failure
  readonly hint: string | undefined
  constructor(message: string, options: TokenwattErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.hint = options.hint
  }
}

/** A config file, flag or value is invalid. */
export class ConfigError extends TokenwattError {
  readonly code = 'TW_CONFIG_INVALID'
  override readonly exitCode = ExitCode.Usage
}

/** The target could not be used (unreachable, wrong model, not streaming, ...). */
export class PreflightError extends TokenwattError {
  readonly code = 'TW_PREFLIGHT_FAILED'
  override readonly exitCode = ExitCode.Preflight
}

/** A power meter cannot be read on this machine. */
export class MeterUnavailableError extends TokenwattError {
  readonly code = 'TW_METER_UNAVAILABLE'
  override readonly exitCode = ExitCode.MeterUnavailable
}

/** A stored run, file or other named thing does not exist. */
export class NotFoundError extends TokenwattError {
  readonly code = 'TW_NOT_FOUND'
  override readonly exitCode = ExitCode.NotFound
}

/** A local engine (mock, llama.cpp) could not be started or failed. */
export class EngineError extends TokenwattError {
  readonly code = 'TW_ENGINE_FAILED'
  override readonly exitCode = ExitCode.Failure
}

/** The run was interrupted (Ctrl-C); partial results were kept. */
export class InterruptedError extends TokenwattError {
  readonly code = 'TW_INTERRUPTED'
  override readonly exitCode = ExitCode.Interrupted
}

/** A knob (power cap, clock, server setting) cannot be read, changed or put back. */
export class KnobError extends TokenwattError {
  readonly code = 'TW_KNOB_FAILED'
  override readonly exitCode = ExitCode.KnobFailed
}

/** `startAt` had passed before the load was ready: the shards would not start together. */
export class StartTimePassedError extends TokenwattError {
  readonly code = 'TW_START_TIME_PASSED'
  override readonly exitCode = ExitCode.Usage
}

/** `tokenwatt merge`: the shard directories do not make one run (missing, overlapping or mismatched shards). */
export class ShardMergeError extends TokenwattError {
  readonly code = 'TW_SHARDS_INVALID'
  override readonly exitCode = ExitCode.ShardsInvalid
}

export function isTokenwattError(e: unknown): e is TokenwattError {
  return e instanceof TokenwattError
}
