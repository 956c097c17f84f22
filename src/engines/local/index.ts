/**
 * The embedded local engine: generated GGUF models, an OpenAI-compatible llama.cpp server, and
 * upstream llama-server built from the bundled source. See start-local-engine.ts for the entry.
 */
export { LOCAL_ENGINE_DEFAULTS, startLocalEngine, type EngineKind, type LocalEngine, type LocalEngineOptions } from './start-local-engine.js'
export { defaultCacheDir, ensureModelFile, modelCacheKey, type ModelFile, type ModelFileRequest } from './model-cache.js'
export { MODEL_QUANTS, MODEL_SIZES, MODEL_SIZE_NAMES, isModelQuant, isModelSize, modelName, parameterCount, type ModelQuant, type ModelSize } from './model-spec.js'
export { buildLlamaServer, findLlamaServer, type LlamaServerBuildResult } from './llama-server-build.js'
export { serveNodeEngine, type RunningNodeEngine } from './node-engine.js'
export { readGgufFile, type GgufFile } from './gguf-reader.js'
