import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MeterSpecOf } from '../../../core/config/meters-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import type { MeterContext } from '../meter-context.js'
import { PollLoop } from '../remote/poll-loop.js'
import { redact, requireEnvSecret } from '../remote/secrets.js'
import { describeToolFailure, runTool, type ToolResult } from '../local/run-tool.js'
import { type DcmiReading, parseFreeipmiReading, parseIpmitoolReading } from './dcmi-output.js'
import { IpmitoolShell } from './ipmitool-shell.js'

type Tool = 'ipmitool' | 'freeipmi'

const DCMI_READING = ['dcmi', 'power', 'reading'] as const

/** A dead shell is restarted after this, doubling up to the cap while it keeps dying; polls in between use a process. */
const SHELL_RETRY_MIN_MS = 1000
const SHELL_RETRY_MAX_MS = 60_000
const TOOL_TIMEOUT_MS = 10_000

/**
 * Whole-server power from the BMC over IPMI DCMI ("Get Power Reading"), through `ipmitool dcmi power
 * reading` or FreeIPMI's `ipmi-dcmi --get-system-power-statistics`; in-band (root, /dev/ipmi0) or over
 * the network. Integer watts, usually the PSUs' AC input, refreshed by the BMC about once a second —
 * polling faster returns repeats or errors, so the default period is 1 s.
 *
 * The BMC password is taken only from the environment variable the config names and handed to the
 * tool through its environment (`ipmitool -E` reads `IPMI_PASSWORD`) or a 0600 temporary config file
 * (FreeIPMI): never on a command line, where every local user could read it in `ps`.
 *
 * With ipmitool, polls go through one `ipmitool … shell` session kept open for the run
 * (`IpmitoolShell`): a process per poll costs a few percent of a core at 10 Hz, a line on a pipe
 * almost nothing. A session that dies is restarted (after 1 s, backing off to 60 s while it keeps
 * dying), with a process per poll meanwhile; a build without the shell gets a process per poll
 * throughout. FreeIPMI's `ipmi-dcmi` has no shell, so it always runs once per poll.
 */
export class IpmiPowerMeter implements PowerMeter {
  private tool: Tool | null = null
  private loop: PollLoop | null = null
  private tmpDir: string | null = null
  private password: string | undefined
  private shell: IpmitoolShell | null = null
  /** Why polls run as one process each (null while the shell serves them). */
  private shellProblem: string | null = null
  private shellRetryMs = SHELL_RETRY_MIN_MS
  private shellRetryAtNs = 0

  constructor(
    private readonly spec: MeterSpecOf<'ipmi'>,
    private readonly ctx: MeterContext,
  ) {}

  get info(): MeterInfo {
    const s = this.spec
    return {
      id: this.ctx.id,
      kind: 'ipmi',
      boundary: s.boundary,
      hasCounter: false,
      periodMs: s.periodMs ?? 1000,
      // PSU firmware averages its reading over about a second before the BMC serves it.
      averagingWindowMs: 1000,
      // PSU input metering is typically ±2–5 %; integer watts.
      accuracyRel: s.accuracyRel ?? 0.05,
      accuracyW: s.accuracyW ?? 0,
      resolutionW: 1,
      estimated: false,
      description: `IPMI DCMI power reading${s.host !== undefined ? ` from ${s.host}` : ' (in-band)'}${this.tool ? ` via ${this.tool}${this.mode()}` : ''}`,
      ...(s.component !== undefined ? { component: s.component } : {}),
      ...(s.group !== undefined ? { group: s.group } : {}),
    }
  }

  private mode(): string {
    if (this.shellProblem !== null) return ` (one process per poll: ${this.shellProblem})`
    return this.shell !== null ? ' shell (one session for the run)' : ''
  }

  private binary(tool: Tool): string {
    return this.spec.binary ?? (tool === 'ipmitool' ? 'ipmitool' : 'ipmi-dcmi')
  }

  /** ipmitool's options before the command: how to reach the BMC (the password only through the env). */
  private ipmitoolConnection(): { args: string[]; extraEnv: Record<string, string> } {
    const s = this.spec
    if (s.host === undefined) return { args: [], extraEnv: {} }
    const args = ['-I', s.interface, '-H', s.host, ...(s.user !== undefined ? ['-U', s.user] : []), '-E']
    return { args, extraEnv: this.password !== undefined ? { IPMI_PASSWORD: this.password } : {} }
  }

  private args(tool: Tool): { args: string[]; extraEnv: Record<string, string> } {
    const s = this.spec
    const remote = s.host !== undefined
    if (tool === 'ipmitool') {
      const c = this.ipmitoolConnection()
      return { args: [...c.args, ...DCMI_READING], extraEnv: c.extraEnv }
    }
    if (!remote) return { args: ['--get-system-power-statistics'], extraEnv: {} }
    const args = ['-h', s.host as string, ...(s.user !== undefined ? ['-u', s.user] : []), '-D', s.interface === 'lan' ? 'LAN' : 'LAN_2_0']
    if (this.password !== undefined) args.push('--config-file', this.passwordFile())
    args.push('--get-system-power-statistics')
    return { args, extraEnv: {} }
  }

  /** FreeIPMI reads the password from a config file (`password …`), made readable by us only. */
  private passwordFile(): string {
    this.tmpDir ??= mkdtempSync(join(tmpdir(), 'tokenwatt-ipmi-'))
    const file = join(this.tmpDir, 'freeipmi.conf')
    writeFileSync(file, `password ${this.password ?? ''}\n`, { mode: 0o600 })
    return file
  }

  private async once(tool: Tool): Promise<{ result: ToolResult; reading: DcmiReading }> {
    const { args, extraEnv } = this.args(tool)
    const result = await runTool(this.binary(tool), args, { env: this.ctx.env, timeoutMs: TOOL_TIMEOUT_MS, extraEnv })
    const reading = tool === 'ipmitool' ? parseIpmitoolReading(result.stdout) : parseFreeipmiReading(result.stdout)
    return { result, reading }
  }

  async preflight(): Promise<MeterPreflight> {
    const s = this.spec
    if (s.host !== undefined) this.password = requireEnvSecret(this.ctx.env, s.passwordEnv, 'the BMC password', `IPMI ${s.host}`)
    const candidates: Tool[] = s.tool === 'auto' ? ['ipmitool', 'freeipmi'] : [s.tool]
    const failures: string[] = []
    for (const tool of candidates) {
      const { result, reading } = await this.once(tool)
      if (result.errorCode === 'ENOENT' && s.tool === 'auto') {
        failures.push(`${this.binary(tool)} not found`)
        continue
      }
      if (result.code !== 0 || result.errorCode !== null) {
        const why = redact(describeToolFailure(this.binary(tool), result), [this.password])
        throw new MeterUnavailableError(`IPMI: ${why}`, { hint: this.hint(result) })
      }
      if (reading.problem !== null) throw new MeterUnavailableError(`IPMI: ${reading.problem}`, { hint: 'this BMC may expose power only as an SDR sensor or over Redfish: try --meter redfish:https://BMC' })
      this.tool = tool
      return { ok: true, channels: ['node'], message: `${this.binary(tool)}: ${reading.powerW ?? '?'} W now` }
    }
    throw new MeterUnavailableError(`IPMI: ${failures.join(' and ')} on PATH`, { hint: 'install ipmitool (apt install ipmitool) or FreeIPMI (apt install freeipmi-tools)' })
  }

  private hint(r: ToolResult): string {
    const text = `${r.stderr}\n${r.stdout}`
    if (this.spec.host === undefined && /\/dev\/ipmi|open device|permission/i.test(text))
      return 'in-band IPMI needs root and the IPMI driver (sudo modprobe ipmi_devintf ipmi_si); or read the BMC over the network: --meter ipmi:USER@BMC with IPMI_PASSWORD set'
    if (/password|authenticat|unauthori|RAKP/i.test(text)) return `check the user and the password in ${this.spec.passwordEnv}`
    if (/dcmi|invalid command|not supported/i.test(text)) return 'this BMC does not speak DCMI power reading: try --meter redfish:https://BMC'
    return 'run the same ipmitool command by hand to see what the BMC says'
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    if (this.tool === null) await this.preflight()
    const tool = this.tool as Tool
    const clock = this.ctx.clock
    if (tool === 'ipmitool') await this.openShell()
    this.loop = new PollLoop(clock, this.info.periodMs, async () => {
      const t0 = clock.nowNs()
      const reading = await this.read(tool)
      const t1 = clock.nowNs()
      if (reading === null || reading.powerW === null) return // a failed poll is a gap
      onSample({ meterId: this.ctx.id, channel: 'node', atNs: (t0 + t1) / 2, sourceTimeMs: null, powerW: reading.powerW, energyJ: null })
    })
    this.loop.start()
  }

  /** Opens the shell and checks that it answers a reading; otherwise polls run as a process each. */
  private async openShell(): Promise<void> {
    const c = this.ipmitoolConnection()
    const shell = new IpmitoolShell(this.binary('ipmitool'), c.args, this.ctx.env, c.extraEnv, TOOL_TIMEOUT_MS)
    const reply = await shell.command(DCMI_READING.join(' '))
    const reading = reply.ok ? parseIpmitoolReading(reply.text) : null
    if (reading !== null && reading.powerW !== null) {
      this.shell = shell
      this.shellProblem = null
      return
    }
    await shell.close()
    this.shell = null
    this.shellProblem = `no shell mode (${redact(reply.ok ? (reading?.problem ?? 'no reading') : reply.why, [this.password])})`
  }

  /** One reading: through the shell while it lives, else (and while it is being retried) a process. */
  private async read(tool: Tool): Promise<DcmiReading | null> {
    const shell = this.shell
    if (shell !== null && (shell.alive || this.ctx.clock.nowNs() >= this.shellRetryAtNs)) {
      const reply = await shell.command(DCMI_READING.join(' '))
      if (reply.ok) {
        this.shellRetryMs = SHELL_RETRY_MIN_MS
        this.shellProblem = null
        return parseIpmitoolReading(reply.text)
      }
      if (!shell.alive) {
        this.shellProblem = `shell restarting after: ${redact(reply.why, [this.password])}`
        this.shellRetryAtNs = this.ctx.clock.nowNs() + this.shellRetryMs * 1e6
        this.shellRetryMs = Math.min(SHELL_RETRY_MAX_MS, this.shellRetryMs * 2)
      }
      return null
    }
    const { result, reading } = await this.once(tool)
    return result.code === 0 ? reading : null
  }

  /** Sessions the shell has started (restarts included); 0 when polls never used it. */
  get shellStarts(): number {
    return this.shell?.starts ?? 0
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
    this.loop = null
    await this.shell?.close()
    if (this.tmpDir !== null) rmSync(this.tmpDir, { recursive: true, force: true })
    this.tmpDir = null
  }
}
