import { ConfigError } from '../../core/errors.js'

/** Where an OpenAI-compatible server lives, split the way the client needs it. */
export interface EndpointUrl {
  /** `scheme://host:port`, what the connection pool is keyed on. */
  readonly origin: string
  /** The API base as used, always ending in `/v1` (e.g. `http://127.0.0.1:8000/v1`). */
  readonly baseUrl: string
  /** Path prefix of the API base (`/v1`, or `/openai/v1` behind a gateway). */
  readonly apiPath: string
  /** Path prefix of the server root (`''`, or `/openai`): vLLM and llama.cpp put /tokenize there. */
  readonly rootPath: string
}

/**
 * Accepts a server's base URL with or without a trailing `/v1` (and trailing slashes), since users copy
 * whichever form their server's docs show, and returns one normalised form.
 *
 * @example
 * parseEndpointUrl('http://gpu-7:8000').baseUrl     // 'http://gpu-7:8000/v1'
 * parseEndpointUrl('http://gpu-7:8000/v1/').baseUrl // 'http://gpu-7:8000/v1'
 */
export function parseEndpointUrl(input: string): EndpointUrl {
  let url: URL
  try {
    url = new URL(input)
  } catch (cause) {
    throw new ConfigError(`endpoint "${input}" is not a URL`, { hint: 'give the server base URL, e.g. http://127.0.0.1:8000', cause })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`endpoint "${input}" must use http or https`, { hint: 'e.g. http://127.0.0.1:8000' })
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError('endpoint must not carry credentials in the URL', { hint: 'put the API key in the environment variable named by target.apiKeyEnv' })
  }
  let path = url.pathname.replace(/\/+$/, '')
  const rootPath = path.endsWith('/v1') ? path.slice(0, -3) : path
  path = `${rootPath}/v1`
  return { origin: url.origin, baseUrl: `${url.origin}${path}`, apiPath: path, rootPath }
}
