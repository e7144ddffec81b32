// Slice grouping shared by every task: rows grouped by their slice key, small slices left out,
// the largest kept, largest first (ties by key), exactly as the binary `sliceMetrics` orders them.

export interface SliceGroupOptions {
  /** Slices with fewer rows are left out: their metrics are mostly noise. @default 200 */
  minRows?: number;
  /** Only the largest slices are kept. @default 20 */
  maxSlices?: number;
}

/** `[key, row indices]` per kept slice, largest first. */
export function groupSlices(sliceKeys: readonly string[], rows: number, options: SliceGroupOptions = {}): [string, number[]][] {
  if (sliceKeys.length !== rows) throw new RangeError(`sliceKeys (${sliceKeys.length}) and rows (${rows}) differ in length`);
  const { minRows = 200, maxSlices = 20 } = options;
  const groups = new Map<string, number[]>();
  sliceKeys.forEach((key, i) => {
    const members = groups.get(key);
    if (members) members.push(i);
    else groups.set(key, [i]);
  });
  return [...groups]
    .filter(([, members]) => members.length >= minRows)
    .sort(([a, ra], [b, rb]) => rb.length - ra.length || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxSlices);
}
