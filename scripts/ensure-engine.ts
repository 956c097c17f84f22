// `npm test` runs this first (pretest): it finds the upstream llama-server that
// test/local/llama-server.test.ts serves, or builds it once from the llama.cpp source shipped inside
// node-llama-cpp (offline; about 6 minutes on 2 cores) with a progress line, into the cache
// `tokenwatt engine build` uses. A machine that built it before finds it in a moment.
import { buildLlamaServer, defaultCacheDir } from '../src/engines/local/index.js'

const cacheDir = defaultCacheDir(process.env)
const controller = new AbortController()
process.once('SIGINT', () => controller.abort())
try {
  const result = await buildLlamaServer({
    cacheDir,
    signal: controller.signal,
    onProgress: (line) => process.stderr.write(`engine: ${line}\n`),
  })
  process.stderr.write(result.built ? '' : `engine: llama-server ${result.commit.slice(0, 12)} found in ${result.dir}\n`)
} catch (e) {
  process.stderr.write(`engine: building llama-server for the tests failed: ${e instanceof Error ? e.message : String(e)}\n`)
  process.stderr.write('hint: it needs git, cmake and g++ (apt-get install -y git cmake g++); `npx tokenwatt engine build` shows the whole build\n')
  process.exit(1)
}
