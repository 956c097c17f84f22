import { main } from './main.js'
import { processHost } from './host.js'

// First Ctrl-C: stop gracefully (results so far are kept); second: exit at once.
const controller = new AbortController()
let interrupts = 0
const onSignal = (): void => {
  interrupts += 1
  if (interrupts > 1) process.exit(130)
  process.stderr.write('\ntokenwatt: stopping (Ctrl-C again to quit at once)…\n')
  controller.abort()
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

const code = await main(process.argv.slice(2), processHost(controller.signal))
process.exitCode = code
// Open handles (keep-alive sockets, child engines) must not keep a finished CLI alive.
setTimeout(() => process.exit(code), 2000).unref()
