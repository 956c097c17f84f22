import type { ChatMessage, InferenceRequest } from '../../core/ports.js'

export type ApiKind = 'chat' | 'completions'

/** The request-body choices fixed for a whole run. */
export interface BodyOptions {
  readonly api: ApiKind
  readonly model: string
  /** Send `stream_options` (off only for servers that reject the field). */
  readonly streamOptions: boolean
  readonly continuousUsage: boolean
  readonly ignoreEos: boolean
  readonly minTokens: boolean
  readonly extraBody: Readonly<Record<string, unknown>>
}

/**
 * The JSON body of one streaming request. `extraBody` is merged over the generated fields (so a user can
 * set `temperature`, or rename `max_tokens` for a server that wants `max_completion_tokens`), except
 * that `stream` is always true and `stream_options.include_usage` is always asked for: the measurement
 * depends on both.
 */
export function buildRequestBody(o: BodyOptions, req: InferenceRequest): string {
  const body: Record<string, unknown> = { model: o.model }
  if (o.api === 'chat') body.messages = req.messages ?? [{ role: 'user', content: req.text ?? '' } satisfies ChatMessage]
  else body.prompt = req.text ?? (req.messages ?? []).map((m) => m.content).join('\n')
  if (req.maxTokens !== null) {
    body.max_tokens = req.maxTokens
    if (o.minTokens) body.min_tokens = req.maxTokens
  }
  if (o.ignoreEos) body.ignore_eos = true
  Object.assign(body, o.extraBody)
  body.stream = true
  if (o.streamOptions) {
    const extra = o.extraBody.stream_options
    body.stream_options = {
      ...(typeof extra === 'object' && extra !== null ? extra : {}),
      include_usage: true,
      ...(o.continuousUsage ? { continuous_usage_stats: true } : {}),
    }
  } else {
    delete body.stream_options
  }
  return JSON.stringify(body)
}
