/**
 * Units. Plain numbers carry their unit in their name (`sentAtNs`, `energyJ`, `powerW`); these helpers
 * are the only place conversions happen, so a factor of 1e3 cannot hide in arithmetic elsewhere.
 *
 * Time inside a run is nanoseconds from a monotonic clock, relative to the run epoch (exact to
 * about 104 days as a double).
 */
export const NS_PER_MS = 1e6
export const NS_PER_S = 1e9
export const J_PER_KWH = 3.6e6
export const J_PER_WH = 3600

export const nsToMs = (ns: number): number => ns / NS_PER_MS
export const nsToS = (ns: number): number => ns / NS_PER_S
export const msToNs = (ms: number): number => ms * NS_PER_MS
export const sToNs = (s: number): number => s * NS_PER_S
export const whToJ = (wh: number): number => wh * J_PER_WH
export const jToKwh = (j: number): number => j / J_PER_KWH
export const wToMw = (w: number): number => w / 1e6
