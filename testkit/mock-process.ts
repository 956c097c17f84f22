import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { GroundTruthRecord, MockConfigInput } from '../src/engines/mock/index.js'

/**
 * The mock engine in its own process (so its event loop does not share the test's), with its ground
 * truth appended to a JSONL file. For timing checks that in-process servers would disturb.
 */
export interface MockProcess {
  readonly baseUrl: string
  /** Ground-truth records written so far (finished requests). */
  groundTruth(): GroundTruthRecord[]
  stop(): Promise<void>
}

export async function startMockProcess(config: MockConfigInput, groundTruthFile: string): Promise<MockProcess> {
  const entry = join(import.meta.dirname, '../src/engines/mock/index.ts')
  const script = `import { startMockServer } from ${JSON.stringify(entry)}
const m = await startMockServer(${JSON.stringify({ ...config, port: 0, groundTruthFile })})
process.stdout.write(m.baseUrl + '\\n')
process.on('SIGTERM', () => void m.close().then(() => process.exit(0)))`
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout?.setEncoding('utf8')
  const baseUrl = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: string) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(out.slice(0, nl).trim())
    })
    child.once('exit', (code) => reject(new Error(`mock process exited (${code}) before listening`)))
  })
  return {
    baseUrl,
    groundTruth: () =>
      readFileSync(groundTruthFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as GroundTruthRecord),
    stop: async () => {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}
