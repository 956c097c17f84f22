import type { PresetId } from '../config/cost-schema.js'

/** A number with where it came from and when, so a report can cite it. */
export interface SourcedValue {
  readonly value: number
  readonly unit: string
  readonly source: string
  /** When the source published or was read (YYYY-MM or YYYY). */
  readonly date: string
}

/**
 * Power figures and typical prices of one accelerator, each with its public source and date. All are
 * starting points: every one can be overridden in `cost:`. Capex is given only where a public,
 * server-level price exists; elsewhere it is null and own-mode costing asks for it.
 */
export interface AcceleratorPreset {
  readonly id: PresetId
  readonly label: string
  readonly vendor: 'NVIDIA' | 'AMD'
  /** Accelerator TDP. */
  readonly nameplateW: SourcedValue
  /** All-in provisioned IT power per accelerator: chip + its share of host, NICs and switches. */
  readonly provisionedKw: SourcedValue
  /** Market rental price per accelerator-hour. */
  readonly rentUsdPerHour: SourcedValue
  /** An owner's all-in cost per accelerator-hour (capex over 4 years + opex), as a flat rate. */
  readonly ownerTcoUsdPerHour: SourcedValue
  /** Server capex per accelerator (whole system ÷ accelerators), when publicly known. */
  readonly serverCapexUsdPerAccelerator: SourcedValue | null
  readonly acceleratorsPerNode: SourcedValue
  readonly acceleratorsPerRack: SourcedValue
}

const TDP = 'vendor datasheet TDP (research/power-sources.md §10.4)'
const ALL_IN = 'InferenceX-app HW_REGISTRY.power, "All-in kW per GPU (chip + per-GPU share of host/NICs)"'
const TCO = 'InferenceX-app constants/tco.ts: SemiAnalysis Market July 2026 Pricing Surveys & AI Cloud TCO Model'
const HGX_NODE: SourcedValue = { value: 8, unit: 'accelerators/node', source: '8-GPU HGX/OAM baseboard', date: '2024' }
const FOUR_NODES: SourcedValue = {
  value: 32,
  unit: 'accelerators/rack',
  source: 'assumption: four 8-accelerator servers per rack (a DGX H100 draws ~10.2 kW max, NVIDIA datasheet); set --accelerators-per-rack',
  date: '2024',
}
const sourced = (value: number, unit: string, source: string, date: string): SourcedValue => ({ value, unit, source, date })

export const PRESETS: Readonly<Record<PresetId, AcceleratorPreset>> = {
  h100: {
    id: 'h100',
    label: 'NVIDIA H100 SXM',
    vendor: 'NVIDIA',
    nameplateW: sourced(700, 'W', TDP, '2023'),
    provisionedKw: sourced(1.37, 'kW', ALL_IN, '2026-09'),
    rentUsdPerHour: sourced(2.0, 'USD/accelerator-hour', `${TCO} (costr, retail rental)`, '2026-07'),
    ownerTcoUsdPerHour: sourced(1.17, 'USD/accelerator-hour', `${TCO} (costh, hyperscaler owning)`, '2026-07'),
    serverCapexUsdPerAccelerator: sourced(
      33_750,
      'USD/accelerator',
      'DGX H100 sale price ~$270,000 ÷ 8 GPUs (SemiAnalysis "AI Server Cost Analysis", cited by epoch-research/training-cost-trends)',
      '2023-05',
    ),
    acceleratorsPerNode: HGX_NODE,
    acceleratorsPerRack: FOUR_NODES,
  },
  h200: {
    id: 'h200',
    label: 'NVIDIA H200 SXM',
    vendor: 'NVIDIA',
    nameplateW: sourced(700, 'W', TDP, '2024'),
    provisionedKw: sourced(1.37, 'kW', ALL_IN, '2026-09'),
    rentUsdPerHour: sourced(2.9, 'USD/accelerator-hour', `${TCO} (costr, retail rental)`, '2026-07'),
    ownerTcoUsdPerHour: sourced(1.22, 'USD/accelerator-hour', `${TCO} (costh, hyperscaler owning)`, '2026-07'),
    serverCapexUsdPerAccelerator: null,
    acceleratorsPerNode: HGX_NODE,
    acceleratorsPerRack: FOUR_NODES,
  },
  b200: {
    id: 'b200',
    label: 'NVIDIA B200',
    vendor: 'NVIDIA',
    nameplateW: sourced(1000, 'W', TDP, '2024'),
    provisionedKw: sourced(1.71, 'kW', ALL_IN, '2026-09'),
    rentUsdPerHour: sourced(3.7, 'USD/accelerator-hour', `${TCO} (costr, retail rental)`, '2026-07'),
    ownerTcoUsdPerHour: sourced(1.73, 'USD/accelerator-hour', `${TCO} (costh, hyperscaler owning)`, '2026-07'),
    // Public figures are chip-only ($30,000–40,000 per GPU, J. Huang to CNBC, 2024), not server-level.
    serverCapexUsdPerAccelerator: null,
    acceleratorsPerNode: HGX_NODE,
    acceleratorsPerRack: FOUR_NODES,
  },
  gb200: {
    id: 'gb200',
    label: 'NVIDIA GB200 NVL72',
    vendor: 'NVIDIA',
    nameplateW: sourced(1200, 'W', TDP, '2024'),
    provisionedKw: sourced(1.87, 'kW', ALL_IN, '2026-09'),
    rentUsdPerHour: sourced(4.0, 'USD/accelerator-hour', `${TCO} (costr, retail rental)`, '2026-07'),
    ownerTcoUsdPerHour: sourced(1.86, 'USD/accelerator-hour', `${TCO} (costh, hyperscaler owning)`, '2026-07'),
    serverCapexUsdPerAccelerator: sourced(
      41_667,
      'USD/accelerator',
      'press estimate ~US$3M per NVL72 rack ÷ 72 GPUs (xatakaon.com citing The Register; "$2–3 million per rack" elsewhere)',
      '2024',
    ),
    acceleratorsPerNode: sourced(4, 'accelerators/node', 'NVL72 compute tray: 2 GB200 superchips = 4 B200 GPUs', '2024'),
    acceleratorsPerRack: sourced(72, 'accelerators/rack', 'NVIDIA GB200 NVL72: 72 Blackwell GPUs per rack', '2024'),
  },
  mi300x: {
    id: 'mi300x',
    label: 'AMD Instinct MI300X',
    vendor: 'AMD',
    nameplateW: sourced(750, 'W', TDP, '2023'),
    provisionedKw: sourced(1.39, 'kW', ALL_IN, '2026-09'),
    rentUsdPerHour: sourced(1.3, 'USD/accelerator-hour', `${TCO} (costr, retail rental)`, '2026-07'),
    ownerTcoUsdPerHour: sourced(0.95, 'USD/accelerator-hour', `${TCO} (costh, hyperscaler owning)`, '2026-07'),
    serverCapexUsdPerAccelerator: null,
    acceleratorsPerNode: HGX_NODE,
    acceleratorsPerRack: FOUR_NODES,
  },
  mi355x: {
    id: 'mi355x',
    label: 'AMD Instinct MI355X',
    vendor: 'AMD',
    nameplateW: sourced(1400, 'W', TDP, '2025'),
    provisionedKw: sourced(2.09, 'kW', ALL_IN, '2026-09'),
    rentUsdPerHour: sourced(2.9, 'USD/accelerator-hour', `${TCO} (costr, retail rental)`, '2026-07'),
    ownerTcoUsdPerHour: sourced(1.5, 'USD/accelerator-hour', `${TCO} (costh, hyperscaler owning)`, '2026-07'),
    serverCapexUsdPerAccelerator: null,
    acceleratorsPerNode: HGX_NODE,
    acceleratorsPerRack: FOUR_NODES,
  },
}

/**
 * Defaults applied when neither the config nor a preset gives a value. Each is an assumption and is
 * listed in `cost.assumptions` whenever it is used.
 */
export const DEFAULT_ASSUMPTIONS = {
  pue: sourced(1.3, 'ratio', 'InferenceX-app AIR_COOLED_SYSTEM_PUE (Uptime Institute 2024 fleet average is 1.56)', '2026'),
  usdPerKwh: sourced(0.08, 'USD/kWh', 'US EIA Electric Power Monthly Table 5.6.A, 2024 average industrial price (~8 ¢/kWh)', '2024'),
  depreciationYears: sourced(4, 'years', 'SemiAnalysis/InferenceX 4-year economic life for owned GPUs', '2025-10'),
  facilityLifeYears: sourced(15, 'years', 'assumption: building and M&E plant life; set cost.own.facilityLifeYears', '2026'),
  costOfCapital: sourced(0.08, '1/year', 'assumption: 8 %/yr cost of capital; set cost.own.costOfCapital', '2026'),
  inputOutputPriceRatio: sourced(0.25, 'ratio', 'assumption: input priced at 1/4 of output, common in API price lists; set cost.inputOutputPriceRatio', '2026'),
} as const satisfies Record<string, SourcedValue>

export function presetById(id: string): AcceleratorPreset | undefined {
  return Object.hasOwn(PRESETS, id) ? PRESETS[id as PresetId] : undefined
}
