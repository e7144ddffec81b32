// A small table for the any-table data path: 40 rows over 40 days with a number, a category, a
// boolean, and labels for every task (binary `late`, multiclass `sky`, regression `temp`), written
// as CSV and ingested as a dataset version in a fresh local store.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Duck } from '../../../lib/data/duck.ts';
import { ingestDataset, type DatasetManifest } from '../../../lib/data/ingest.ts';
import { loadDataset } from '../../../lib/data/prepare.ts';
import { LocalArtifactStore } from '../../../lib/storage/index.ts';

export const BYO_ROWS = 40;
const SKIES = ['sun', 'rain', 'fog', 'snow'];

export function byoCsv(rows = BYO_ROWS, edit: (cells: Record<string, string>, i: number) => void = () => {}): string {
  const header = ['when', 'city', 'wind', 'windy', 'late', 'sky', 'temp'];
  const lines = [header.join(',')];
  for (let i = 0; i < rows; i++) {
    const day = new Date(Date.UTC(2012, 0, 1 + i, i % 24));
    const cells: Record<string, string> = {
      when: day.toISOString().slice(0, 19).replace('T', ' '),
      city: i % 3 === 0 ? 'Oslo' : 'Rome',
      wind: String((i * 7) % 11),
      windy: i % 4 === 0 ? 'true' : 'false',
      late: String(i % 5 === 0 ? 1 : 0),
      sky: SKIES[i % 4]!,
      temp: String(10 + (i % 9) / 2),
    };
    edit(cells, i);
    lines.push(header.map((h) => cells[h]).join(','));
  }
  return lines.join('\n') + '\n';
}

/** A store and the CSV ingested as dataset `byo`, loaded as the table `dataset_rows`. */
export async function byoDataset(
  duck: Duck,
  csv = byoCsv(),
): Promise<{ store: LocalArtifactStore; manifest: DatasetManifest; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-byo-'));
  const store = await LocalArtifactStore.create(pathToFileURL(join(dir, 'store')).toString());
  await writeFile(join(dir, 'rows.csv'), csv);
  const manifest = await ingestDataset(duck, { store }, { dataset: 'byo', sourceUris: [pathToFileURL(join(dir, 'rows.csv')).toString()] });
  await loadDataset(duck, { store }, manifest);
  return { store, manifest, dir };
}
