import type { SessionsConfig, ThinkTime } from '../config/sessions-schema.js'
import type { Distribution } from '../config/distribution.js'
import type { ChatMessage, InferenceRequest } from '../ports.js'
import { randomWords, type TokenCalibration } from './prompts.js'
import { createRng, deriveSeed, exponential, type Rng } from './rng.js'
import { distributionMean, sampleLength } from './sample-length.js'

/** A fan-out: k children sent together after the turn's answer, each with its own instruction. */
export interface FanOutPlan {
  readonly children: readonly { readonly inputTokens: number; readonly outputTokens: number }[]
  /** Think time between the turn's end and the children's send (ns). */
  readonly thinkBeforeNs: number
}

export interface TurnPlan {
  /** New user tokens this turn adds to the conversation. */
  readonly inputTokens: number
  readonly outputTokens: number
  /** Think / tool time after this turn (and its children) before the next turn is sent (ns). */
  readonly thinkAfterNs: number
  readonly fanOut: FanOutPlan | null
}

/** One session (task), drawn from its own seeded stream: session N is the same whatever runs beside it. */
export interface SessionPlan {
  readonly sessionId: number
  readonly turns: readonly TurnPlan[]
}

/** What one sent request of a session needs to know to be built. */
export interface SessionRequestSlot {
  readonly seq: number
  readonly sessionId: number
  readonly turn: number
  /** 0: the turn itself; 1..k: fan-out children. */
  readonly branch: number
  readonly scheduledAtNs: number
}

/**
 * Synthetic agentic sessions (workload.sessions): plans each session's turns, lengths, think times and
 * fan-outs, and builds each turn's prompt from the conversation so far — optional shared system
 * prompt, every earlier user turn and the server's own answers, then the new input — so each prompt
 * extends the previous one and a prefix cache can reuse it. Pure and deterministic in (seed, session).
 */
export class SessionWorkload {
  readonly systemPrompt: string | null
  private readonly input: Distribution
  private readonly output: Distribution

  constructor(
    readonly config: SessionsConfig,
    private readonly seed: number,
    defaults: { readonly input: Distribution; readonly output: Distribution },
    private readonly calibration: TokenCalibration,
    private readonly chat: boolean,
  ) {
    this.input = config.input ?? defaults.input
    this.output = config.output ?? defaults.output
    this.systemPrompt = config.systemPromptTokens > 0 ? randomWords(this.words(config.systemPromptTokens), createRng(deriveSeed(seed, 'session-system'))) : null
  }

  get description(): Record<string, unknown> {
    const c = this.config
    return {
      kind: 'sessions',
      seed: this.seed,
      turns: c.turns,
      turnsMean: distributionMean(c.turns),
      input: this.input,
      output: this.output,
      thinkTimeMs: c.thinkTimeMs,
      systemPromptTokens: c.systemPromptTokens,
      fanOut: c.fanOut ?? null,
      affinityHeader: c.affinityHeader || null,
      correlationHeader: c.correlationHeader || null,
      calibration: this.calibration,
    }
  }

  plan(sessionId: number): SessionPlan {
    const rng = createRng(deriveSeed(this.seed, `session:${sessionId}`))
    const n = sampleLength(this.config.turns, rng)
    const turns: TurnPlan[] = []
    const f = this.config.fanOut
    for (let t = 0; t < n; t++) {
      const inputTokens = sampleLength(this.input, rng)
      const outputTokens = sampleLength(this.output, rng)
      const thinkAfterNs = sampleThinkNs(this.config.thinkTimeMs, rng)
      let fanOut: FanOutPlan | null = null
      // A fan-out's answers feed the next turn, so the last turn never fans out.
      if (f !== undefined && t < n - 1 && (t + 1) % f.every === 0) {
        const k = sampleLength(f.children, rng)
        const children = Array.from({ length: k }, () => ({ inputTokens: sampleLength(f.input, rng), outputTokens: sampleLength(f.output, rng) }))
        fanOut = { children, thinkBeforeNs: sampleThinkNs(this.config.thinkTimeMs, rng) }
      }
      turns.push({ inputTokens, outputTokens, thinkAfterNs, fanOut })
    }
    return { sessionId, turns }
  }

  /** A fresh conversation for a session (the shared system prompt, when there is one). */
  conversation(sessionId: number): SessionConversation {
    return new SessionConversation(this, sessionId, this.systemPrompt)
  }

  /** Seeded new user text for (session, turn, branch) of about `tokens` tokens. */
  userText(sessionId: number, turn: number, branch: number, tokens: number): string {
    return randomWords(this.words(tokens), createRng(deriveSeed(this.seed, `session:${sessionId}:turn:${turn}:${branch}`)))
  }

  /** Per-request headers: the session id for affinity routing and a correlation id. */
  headers(slot: SessionRequestSlot): Record<string, string> {
    const h: Record<string, string> = {}
    if (this.config.affinityHeader) h[this.config.affinityHeader] = `tw-session-${slot.sessionId}`
    if (this.config.correlationHeader) h[this.config.correlationHeader] = `tw-session-${slot.sessionId}-${slot.turn}-${slot.branch}`
    return h
  }

  /** Words for a token count (no template overhead: that is paid once per request, not per message). */
  words(tokens: number): number {
    return Math.max(1, Math.round(tokens / this.calibration.tokensPerWord))
  }

  get chatApi(): boolean {
    return this.chat
  }
}

/**
 * The conversation of one session as it grows: the system prompt, then user and assistant turns in
 * order. A fan-out's children see the conversation so far plus their own instruction; their answers
 * are prepended to the next user turn (as tool results are).
 */
export class SessionConversation {
  private readonly messages: ChatMessage[] = []
  private pendingToolText: string[] = []
  private estimatedTokens = 0

  constructor(
    private readonly w: SessionWorkload,
    readonly sessionId: number,
    systemPrompt: string | null,
  ) {
    if (systemPrompt !== null) {
      this.messages.push({ role: 'system', content: systemPrompt })
      this.estimatedTokens += w.config.systemPromptTokens
    }
  }

  /** The request of turn `turn` (branch 0); appends its user message to the conversation. */
  turnRequest(slot: SessionRequestSlot, turn: TurnPlan): InferenceRequest {
    const fresh = this.w.userText(this.sessionId, slot.turn, 0, turn.inputTokens)
    const content = this.pendingToolText.length > 0 ? `${this.pendingToolText.join('\n')}\n${fresh}` : fresh
    this.pendingToolText = []
    this.messages.push({ role: 'user', content })
    this.estimatedTokens += turn.inputTokens
    return this.build(slot, this.messages, turn.outputTokens, this.estimatedTokens)
  }

  /** A fan-out child: the conversation so far plus its own instruction; the conversation is unchanged. */
  childRequest(slot: SessionRequestSlot, child: { readonly inputTokens: number; readonly outputTokens: number }): InferenceRequest {
    const instruction = this.w.userText(this.sessionId, slot.turn, slot.branch, child.inputTokens)
    return this.build(slot, [...this.messages, { role: 'user', content: instruction }], child.outputTokens, this.estimatedTokens + child.inputTokens)
  }

  /** The server's answer to the last turn, carried into every later prompt. */
  addAnswer(text: string, outputTokens: number): void {
    this.messages.push({ role: 'assistant', content: text })
    this.estimatedTokens += outputTokens
  }

  /** The children's answers, fed into the next turn. */
  addToolResults(texts: readonly string[], outputTokens: number): void {
    this.pendingToolText = texts.filter((t) => t.length > 0)
    this.estimatedTokens += outputTokens
  }

  get messageCount(): number {
    return this.messages.length
  }

  private build(slot: SessionRequestSlot, messages: readonly ChatMessage[], maxTokens: number, targetInputTokens: number): InferenceRequest {
    const session = { sessionId: slot.sessionId, turn: slot.turn, branch: slot.branch }
    const base = { seq: slot.seq, phase: 'measure' as const, userId: slot.sessionId, scheduledAtNs: slot.scheduledAtNs, maxTokens, targetInputTokens, captureText: true, headers: this.w.headers(slot), session }
    if (this.w.chatApi) return { ...base, text: null, messages: [...messages] }
    return { ...base, text: messages.map((m) => m.content).join('\n'), messages: null }
  }
}

/** One think time in ns. */
export function sampleThinkNs(d: ThinkTime, rng: Rng): number {
  switch (d.type) {
    case 'fixed':
      return d.ms * 1e6
    case 'uniform':
      return (d.lowMs + rng.next() * Math.max(0, d.highMs - d.lowMs)) * 1e6
    case 'exponential':
      return exponential(rng, 1) * d.meanMs * 1e6
  }
}

/** A stand-in answer of `tokens` words when the server sent no text (so the conversation still grows). */
export function syntheticAnswer(w: SessionWorkload, sessionId: number, turn: number, tokens: number): string {
  return w.userText(sessionId, turn, -1, Math.max(1, tokens))
}
