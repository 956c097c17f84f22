import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/**
 * A temporary bin directory holding the fake vendor tools under their real names (`nvidia-smi`,
 * `amd-smi`, `ipmitool`, `ipmi-dcmi`), and the env to run meters with: PATH with that directory first.
 */
export function fakeToolsEnv(extra: Record<string, string> = {}): { env: Record<string, string | undefined>; binDir: string } {
  const binDir = mkdtempSync(join(tmpdir(), 'tokenwatt-fakes-'))
  const tools: Record<string, string> = {
    'nvidia-smi': `#!/bin/sh\nexec "${process.execPath}" "${join(here, 'fake-nvidia-smi.mjs')}" "$@"\n`,
    'amd-smi': `#!/bin/sh\nexec "${process.execPath}" "${join(here, 'fake-amd-smi.mjs')}" "$@"\n`,
    ipmitool: `#!/bin/sh\nexec /bin/sh "${join(here, 'fake-ipmitool.sh')}" "$@"\n`,
    'ipmi-dcmi': `#!/bin/sh\nexec /bin/sh "${join(here, 'fake-ipmi-dcmi.sh')}" "$@"\n`,
  }
  for (const [name, body] of Object.entries(tools)) {
    const p = join(binDir, name)
    writeFileSync(p, body)
    chmodSync(p, 0o755)
  }
  return { env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}`, ...extra }, binDir }
}

/**
 * Compiles the NVML stub (testkit/meters/nvml-stub.c) into `<tmp>/…/libnvidia-ml.so.1` with the
 * machine's C compiler, once per source version. Returns null (with the reason) when there is none.
 */
export function buildNvmlStub(): { path: string } | { skip: string } {
  const src = join(here, 'nvml-stub.c')
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12)
  const dir = join(tmpdir(), `tokenwatt-nvml-stub-${hash}`)
  const out = join(dir, 'libnvidia-ml.so.1')
  if (existsSync(out)) return { path: out }
  const cc = ['cc', 'gcc', 'clang'].find((c) => {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  })
  if (!cc) return { skip: 'no C compiler (cc/gcc/clang) on this machine to build the NVML stub' }
  mkdirSync(dir, { recursive: true })
  const tmp = `${out}.${process.pid}.tmp`
  execFileSync(cc, ['-shared', '-fPIC', '-O2', '-Wall', '-o', tmp, src], { stdio: 'pipe' })
  execFileSync('mv', [tmp, out])
  return { path: out }
}
