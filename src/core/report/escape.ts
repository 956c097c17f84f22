/**
 * Escaping for every string that reaches a report. Model names, server headers, meter channels,
 * error messages and labels come from servers and configs we do not control: a model called
 * `<script>alert(1)</script>` must print as text, never run.
 */
const HTML: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** For HTML text and (quoted) attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML[c] ?? c)
}

/**
 * For Markdown text and table cells: HTML-special characters become entities (Markdown renders raw
 * HTML), Markdown syntax characters are backslash-escaped, and newlines become spaces so a cell
 * cannot break its table.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_[\]|#!~]/g, (c) => `\\${c}`)
    .replace(/[&<>"]/g, (c) => HTML[c] ?? c)
}

/** A fenced code block whose fence is longer than any backtick run inside, so content cannot close it. */
export function markdownCodeBlock(text: string, lang = ''): string {
  let longest = 0
  for (const m of text.matchAll(/`+/g)) longest = Math.max(longest, m[0].length)
  const fence = '`'.repeat(Math.max(3, longest + 1))
  return `${fence}${lang}\n${text}\n${fence}`
}

/**
 * One CSV cell (RFC 4180 quoting). Text that a spreadsheet would run as a formula (starting with
 * = + - @, tab or CR) is prefixed with an apostrophe (OWASP CSV injection guidance); numbers pass as is.
 */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return ''
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : ''
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}
