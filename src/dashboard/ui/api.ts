/** The dashboard's HTTP API as the page uses it: a bearer token when the server printed one. */

/** The token from the URL fragment (`#token=…`, as the CLI prints it), kept for the tab's session. */
export function token(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash)
  if (m?.[1]) sessionStorage.setItem('tokenwatt-token', decodeURIComponent(m[1]))
  return sessionStorage.getItem('tokenwatt-token')
}

function headers(): Record<string, string> {
  const t = token()
  return t ? { authorization: `Bearer ${t}` } : {}
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: headers() })
  const body = (await res.json()) as T & { error?: string }
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`)
  return body
}

/**
 * Server-sent events read through fetch (EventSource cannot send the Authorization header): calls
 * `onEvent` per event until the stream ends or `signal` aborts.
 */
export async function streamEvents(path: string, onEvent: (event: string, data: string) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(path, { headers: { ...headers(), accept: 'text/event-stream' }, signal })
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`)
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buf += value
    let i: number
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i)
      buf = buf.slice(i + 2)
      let event = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
      }
      onEvent(event, data.join('\n'))
    }
  }
}
