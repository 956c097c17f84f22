import { parquetWriteBuffer } from 'hyparquet-writer'
import type { Column } from '../../core/report/record-tables.js'

/**
 * Encodes record columns as a Parquet file (pure JS, hyparquet-writer): DOUBLE, INT32 and UTF-8
 * STRING columns, nulls kept as nulls. Read back by pandas/polars/DuckDB.
 */
export function columnsToParquet(columns: readonly Column[]): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: columns.map((c) => ({ name: c.name, data: c.data as (number | string | null)[], type: c.type })),
  })
  return new Uint8Array(buffer)
}
