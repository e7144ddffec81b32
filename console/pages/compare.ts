// `/compare?model=M&versions=1,2,3`: two or more versions side by side — metrics with the best
// marked, each quality gate, slice metrics, parameters (differences highlighted) and learning
// curves overlaid — read from the registry, the tracked runs and the stored evaluation files.
import type { FastifyInstance } from 'fastify';
import type { GateReport } from '../../lib/evaluation/gates.ts';
import { ModelNotFoundError, VersionNotFoundError, type ModelVersion } from '../../lib/registry/index.ts';
import { getJson } from '../../lib/storage/index.ts';
import { getRuns } from '../../lib/tracking/store.ts';
import type { TrainingRunRecord } from '../../lib/tracking/types.ts';
import type { ConsoleContext } from '../context.ts';
import { html, type Html } from '../html.ts';
import { fmtMetric, taskOf, TASK_METRICS } from '../read-model.ts';
import { epochsChart } from './runs.ts';

const MAX_VERSIONS = 8;

/** `versions=1,2` or `versions=1&versions=2` (the model page's checkboxes). */
export function parseVersions(raw: string | string[] | undefined): number[] {
  const parts = [raw ?? []].flat().flatMap((s) => s.split(','));
  const out = parts.map((s) => Number(s.trim().replace(/^v/i, ''))).filter((n) => Number.isInteger(n) && n > 0);
  return [...new Set(out)].slice(0, MAX_VERSIONS);
}

async function readJson<T>(ctx: ConsoleContext, uri: string | undefined): Promise<T | undefined> {
  if (!uri) return undefined;
  try {
    return await getJson<T>(ctx.store, ctx.store.keyFor(uri));
  } catch (err) {
    ctx.logger.debug({ err, uri }, 'compare: stored file not readable');
    return undefined;
  }
}

interface StoredMetrics {
  task?: string;
  candidate?: { metrics?: { slices?: Record<string, Array<Record<string, unknown> & { slice: string; rows: number }>> } };
}

/** The slice metric worth comparing for a task: AUC, accuracy or RMSE. */
const SLICE_METRIC: Record<string, { key: string; higherIsBetter: boolean }> = {
  binary: { key: 'auc', higherIsBetter: true },
  multiclass: { key: 'accuracy', higherIsBetter: true },
  regression: { key: 'rmse', higherIsBetter: false },
};

function bestOf(values: Array<number | undefined>, higherIsBetter: boolean | undefined): number | undefined {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (finite.length < 2 || higherIsBetter === undefined) return undefined;
  return higherIsBetter ? Math.max(...finite) : Math.min(...finite);
}

function flatten(obj: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  return Object.entries(obj).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? flatten(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, typeof v === 'string' ? v : JSON.stringify(v)] as [string, string]],
  );
}

function picker(ctx: ConsoleContext, models: string[], model?: string, error?: string): Html {
  return html`<h1>Compare versions</h1>
    ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
    <form method="get" action="/compare">
      <label
        >model
        <select name="model">
          ${models.map((m) => html`<option value="${m}" ${m === model ? html`selected` : ''}>${m}</option>`)}
        </select></label
      >
      <label>versions <input name="versions" placeholder="1,2,3" size="12" /></label>
      <button class="primary" type="submit">Compare</button>
    </form>
    <p class="muted">Or tick versions on a model's page.</p>`;
}

export function registerCompareRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get<{ Querystring: { model?: string; versions?: string | string[] } }>('/compare', async (req, reply) => {
    const model = req.query.model;
    const wanted = parseVersions(req.query.versions);
    if (!model || wanted.length < 2) {
      const models = (await ctx.registry.listModels()).map((m) => m.name).sort();
      const error = model ? 'pick two or more versions' : undefined;
      return ctx.page(reply, { title: 'Compare', nav: 'compare', body: picker(ctx, models, model, error) });
    }
    let versions: ModelVersion[];
    try {
      versions = await Promise.all(wanted.map((v) => ctx.registry.getVersion(model, v)));
    } catch (err) {
      if (err instanceof ModelNotFoundError || err instanceof VersionNotFoundError) {
        const models = (await ctx.registry.listModels()).map((m) => m.name).sort();
        return ctx.page(reply.code(404), { title: 'Compare', nav: 'compare', body: picker(ctx, models, model, err.message) });
      }
      throw err;
    }
    const runList = await getRuns(
      ctx.db,
      versions.map((v) => v.runId),
    );
    const runs = new Map<string, TrainingRunRecord>(runList.map((r) => [r.runId, r]));
    const task = taskOf(versions);
    const [gates, stored] = await Promise.all([
      Promise.all(versions.map((v) => readJson<GateReport>(ctx, v.gateReportUri ?? runs.get(v.runId)?.artifacts.gateReport))),
      Promise.all(
        versions.map((v) => {
          const run = runs.get(v.runId);
          const uri = run?.artifacts.metrics ?? v.gateReportUri?.replace(/\/gates\.json$/, '/metrics.json');
          return readJson<StoredMetrics>(ctx, uri);
        }),
      ),
    ]);

    // Metrics: the task's own first, then every other key any version has.
    const known = TASK_METRICS[task];
    const keys = [
      ...known.map((c) => c.key),
      ...[...new Set(versions.flatMap((v) => Object.keys(v.metrics)))].filter((k) => !known.some((c) => c.key === k)).sort(),
    ];
    const head = html`<th></th>
      ${versions.map((v) => html`<th class="num"><a href="/models/${encodeURIComponent(model)}#v${v.version}">v${v.version}</a></th>`)}`;
    const metricRows = keys.map((key) => {
      const dir = known.find((c) => c.key === key)?.higherIsBetter;
      const values = versions.map((v) => v.metrics[key]);
      const best = bestOf(values, dir);
      return html`<tr>
        <th>${key}</th>
        ${values.map((x) => html`<td class="num ${best !== undefined && x === best ? 'best' : ''}">${fmtMetric(x)}</td>`)}
      </tr>`;
    });

    const gateNames = [...new Set(gates.flatMap((g) => g?.gates.map((x) => x.name) ?? []))];
    const gateRows = gateNames.map(
      (name) =>
        html`<tr>
          <th>${name}</th>
          ${gates.map((g) => {
            const r = g?.gates.find((x) => x.name === name);
            if (!r) return html`<td class="muted">–</td>`;
            const verdict = r.skipped ? 'skipped' : r.passed ? 'passed' : 'failed';
            return html`<td title="${r.message}">
              <span class="badge ${r.skipped ? '' : r.passed ? 'ok' : 'bad'}">${verdict}</span>
              ${r.observed === null ? '' : fmtMetric(r.observed)} <span class="muted">/ ${fmtMetric(r.limit)}</span>
            </td>`;
          })}
        </tr>`,
    );

    const sliceMetric = SLICE_METRIC[task]!;
    const sliceKeys = new Map<string, Set<string>>();
    for (const s of stored)
      for (const [family, list] of Object.entries(s?.candidate?.metrics?.slices ?? {}))
        for (const slice of list) (sliceKeys.get(family) ?? sliceKeys.set(family, new Set()).get(family)!).add(slice.slice);
    const sliceRows: Html[] = [];
    for (const [family, slices] of sliceKeys)
      for (const slice of [...slices].slice(0, 25)) {
        const values = stored.map((s) => {
          const found = s?.candidate?.metrics?.slices?.[family]?.find((x) => x.slice === slice)?.[sliceMetric.key];
          return typeof found === 'number' ? found : undefined;
        });
        const best = bestOf(values, sliceMetric.higherIsBetter);
        sliceRows.push(
          html`<tr>
            <th>${family}=${slice}</th>
            ${values.map((x) => html`<td class="num ${best !== undefined && x === best ? 'best' : ''}">${fmtMetric(x)}</td>`)}
          </tr>`,
        );
      }

    const params = versions.map((v) => new Map(flatten({ ...v.lineage.params, ...(runs.get(v.runId)?.params ?? {}) })));
    const paramKeys = [...new Set(params.flatMap((p) => [...p.keys()]))].sort();
    const paramRows = paramKeys.map((key) => {
      const values = params.map((p) => p.get(key));
      const differs = new Set(values).size > 1;
      return html`<tr class="${differs ? 'differs' : ''}">
        <th>${differs ? html`<strong>${key}</strong>` : key}</th>
        ${values.map((x) => html`<td>${x ?? '–'}</td>`)}
      </tr>`;
    });

    const curves = await epochsChart(
      versions.map((v) => ({ series: `v${v.version}`, epochs: runs.get(v.runId)?.epochs ?? [] })),
      ['loss', 'valLoss'],
    );

    const body = html`<h1>Compare ${model}: ${versions.map((v) => `v${v.version}`).join(', ')}</h1>
      <p class="muted">Task: ${task}. The best value of each row is <span class="best">bold</span>.</p>
      <h2>Metrics</h2>
      <table class="compare-metrics">
        <thead>
          <tr>
            ${head}
          </tr>
        </thead>
        <tbody>
          ${metricRows}
        </tbody>
      </table>
      <h2>Quality gates</h2>
      ${
        gateRows.length
          ? html`<table class="compare-gates">
              <thead>
                <tr>
                  ${head}
                </tr>
              </thead>
              <tbody>
                ${gateRows}
              </tbody>
            </table>`
          : html`<p class="muted">No gate reports stored for these versions.</p>`
      }
      <h2>Slices (${sliceMetric.key})</h2>
      ${
        sliceRows.length
          ? html`<table class="compare-slices">
              <thead>
                <tr>
                  ${head}
                </tr>
              </thead>
              <tbody>
                ${sliceRows}
              </tbody>
            </table>`
          : html`<p class="muted">No slice metrics stored for these versions.</p>`
      }
      <h2>Parameters</h2>
      ${
        paramRows.length
          ? html`<table class="compare-params">
              <thead>
                <tr>
                  ${head}
                </tr>
              </thead>
              <tbody>
                ${paramRows}
              </tbody>
            </table>`
          : html`<p class="muted">No parameters recorded.</p>`
      }
      <h2>Learning curves</h2>
      ${curves}`;
    return ctx.page(reply, { title: `Compare ${model}`, nav: 'compare', body });
  });
}
