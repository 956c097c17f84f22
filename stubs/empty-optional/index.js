// Intentionally empty: node-llama-cpp asks a binaries package for getBinsDir(); without it, that GPU
// variant counts as not installed and the CPU build is used.
export {}
