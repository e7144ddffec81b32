// Embedded PostgreSQL (PGlite, WASM) in a data folder: the zero-setup default. PGlite serves one
// process: a second process that opens the same folder sees its own copy, and whichever closes
// last overwrites the other's writes. So the folder has one owner at a time, named by a lock file
// (pid and command) created exclusively; a second opener fails and says who holds it.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { hostname } from 'node:os';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { checkSchemaName } from './schema.ts';
import type { Database, Queryable, QueryResult, Row } from './types.ts';

/** The lock file inside a PGlite data folder. */
export const PGLITE_LOCK_FILE = 'flywheel.lock';

/** Who owns a PGlite folder, as written in its lock file. */
export interface PGliteLockHolder {
  pid: number;
  /** The owner's command line (`flywheel dev --port 7233`). */
  command: string;
  host: string;
  /** ISO time the owner opened the folder. */
  since: string;
  /** The process's start time in clock ticks after boot (Linux), to tell a reused pid apart. */
  startTicks?: number;
}

/** The folder is owned by another live process (or already open in this one). */
export class PGliteLockedError extends Error {
  override readonly name = 'PGliteLockedError';
  readonly dataDir: string;
  readonly holder: PGliteLockHolder;

  constructor(dataDir: string, holder: PGliteLockHolder) {
    const here = holder.host === hostname();
    const who =
      here && holder.pid === process.pid
        ? 'this process'
        : `pid ${holder.pid} (\`${holder.command}\`${here ? '' : ` on ${holder.host}`}, since ${holder.since})`;
    super(
      `the embedded database (PGlite) in ${dataDir} is in use by ${who}. PGlite serves one process, and ` +
        'writes made beside its owner would be lost when it closes. Stop that process first, or go through ' +
        'its inference server API (`flywheel dev --serve` and `flywheel demo --keep-running` print a key), ' +
        'or point DATABASE_URL at PostgreSQL, which many processes can share.',
    );
    this.dataDir = dataDir;
    this.holder = holder;
  }
}

export interface PGliteOpenOptions {
  /** Recorded in the lock file for whoever finds the folder taken.
   * @default this process's command line */
  command?: string;
  /** Told when a lock left by a process that no longer runs is taken over.
   * @default a Node.js process warning */
  onStaleLock?: (holder: PGliteLockHolder, lockPath: string) => void;
  /** The schema every query resolves names in (created if missing). @default 'public' */
  schema?: string;
}

function ownCommand(): string {
  const [, script, ...args] = process.argv;
  const name = script === undefined ? 'node' : basename(script) === 'flywheel.js' ? 'flywheel' : script;
  return [name, ...args].join(' ');
}

/** Field 22 of /proc/<pid>/stat (start time), or undefined off Linux or when the pid is gone. */
function startTicks(pid: number | 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** Lock files this process holds, by path, with their exact content (released on exit). */
const held = new Map<string, string>();
let exitHookInstalled = false;

function releaseHeld(path: string): void {
  const content = held.get(path);
  held.delete(path);
  try {
    // Only our own lock: a stale-lock takeover elsewhere may have replaced it.
    if (content !== undefined && readFileSync(path, 'utf8') === content) unlinkSync(path);
  } catch {
    // already gone
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parseHolder(text: string): PGliteLockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<PGliteLockHolder>;
    if (typeof h.pid !== 'number' || !Number.isInteger(h.pid) || h.pid <= 0) return undefined;
    const ticks = typeof h.startTicks === 'number' ? { startTicks: h.startTicks } : {};
    return { pid: h.pid, command: String(h.command ?? '?'), host: String(h.host ?? '?'), since: String(h.since ?? '?'), ...ticks };
  } catch {
    return undefined; // half-written, or not ours
  }
}

function holderRuns(holder: PGliteLockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot tell from here: assume it runs
  // This process holds no lock on the folder (checked first), so a lock naming our pid was left
  // by an earlier process that had it (a restarted container starts at the same pid).
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: no such process
  }
  const ticks = startTicks(holder.pid);
  // Another start time: the pid now belongs to a different process.
  return ticks === undefined || holder.startTicks === undefined || ticks === holder.startTicks;
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx'); // O_CREAT | O_EXCL: exactly one opener wins
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Takes the folder's lock (or throws PGliteLockedError) and returns the lock file's path. */
function acquireLock(dataDir: string, options: PGliteOpenOptions): string {
  const path = resolve(dataDir, PGLITE_LOCK_FILE);
  if (held.has(path)) throw new PGliteLockedError(dataDir, parseHolder(held.get(path)!)!);
  const ticks = startTicks('self');
  const me: PGliteLockHolder = {
    pid: process.pid,
    command: options.command ?? ownCommand(),
    host: hostname(),
    since: new Date().toISOString(),
    ...(ticks !== undefined ? { startTicks: ticks } : {}),
  };
  const content = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, content)) {
      held.set(path, content);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on('exit', () => [...held.keys()].forEach(releaseHeld));
      }
      return path;
    }
    const text = readText(path);
    if (text === undefined) continue; // released meanwhile
    let holder = parseHolder(text);
    if (!holder) {
      sleepSync(200); // a writer between create and write gets a moment
      if (readText(path) !== text) continue;
      holder = parseHolder(text);
    }
    if (holder && holderRuns(holder)) throw new PGliteLockedError(dataDir, holder);
    const stale = holder ?? { pid: 0, command: '(unreadable lock file)', host: hostname(), since: '?' };
    (options.onStaleLock ?? warnStale)(stale, path);
    try {
      // Only the stale lock itself: another opener may have taken over meanwhile.
      if (readText(path) === text) unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`could not take ${path}: it changed hands repeatedly; try again`);
}

function warnStale(holder: PGliteLockHolder, path: string): void {
  const message = `taking over ${path}: its owner, pid ${holder.pid} (\`${holder.command}\`), no longer runs`;
  process.emitWarning(message, { code: 'FLYWHEEL_PGLITE_STALE_LOCK' });
}

function copySql(table: string, columns: readonly string[]): string {
  const ident = (n: string) => `"${n.replaceAll('"', '""')}"`;
  return `COPY ${ident(table)} (${columns.map(ident).join(', ')}) FROM '/dev/blob' WITH (FORMAT csv)`;
}

async function copyFromCsv(db: PGlite | Transaction, table: string, columns: readonly string[], csv: string | Uint8Array): Promise<number> {
  const blob = new Blob([typeof csv === 'string' ? csv : Buffer.from(csv)]);
  const res = await db.query(copySql(table, columns), [], { blob });
  return res.affectedRows ?? 0;
}

function queryable(db: PGlite | Transaction): Queryable {
  return {
    copyFromCsv: (table, columns, csv) => copyFromCsv(db, table, columns, csv),
    query: <R extends Row = Row>(sql: string, params: readonly unknown[] = []) => run<R>(db, sql, params),
    exec: async (sql: string) => {
      await db.exec(sql);
    },
  };
}

async function run<R extends Row>(db: PGlite | Transaction, sql: string, params: readonly unknown[]): Promise<QueryResult<R>> {
  const res = await db.query<R>(sql, params as unknown[]);
  return { rows: res.rows, rowCount: res.affectedRows || res.rows.length };
}

export class PGliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly #db: PGlite;
  readonly #lockPath: string | undefined;

  private constructor(db: PGlite, lockPath: string | undefined) {
    this.#db = db;
    this.#lockPath = lockPath;
  }

  /** Opens (creating if needed) the database in `dataDir`, taking its lock (PGliteLockedError when
   * another live process holds it); `memory://` keeps it in memory, unlocked. */
  static async create(dataDir: string, options: PGliteOpenOptions = {}): Promise<PGliteDatabase> {
    if (dataDir.startsWith('memory://')) return withSchema(new PGliteDatabase(await PGlite.create({ dataDir }), undefined), options);
    await mkdir(dataDir, { recursive: true });
    const lockPath = acquireLock(dataDir, options);
    let db: PGliteDatabase;
    try {
      db = new PGliteDatabase(await PGlite.create({ dataDir }), lockPath);
    } catch (err) {
      releaseHeld(lockPath);
      throw err;
    }
    return withSchema(db, options);
  }

  query<R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    return run<R>(this.#db, sql, params);
  }

  async exec(sql: string): Promise<void> {
    await this.#db.exec(sql);
  }

  copyFromCsv(table: string, columns: readonly string[], csv: string | Uint8Array): Promise<number> {
    return copyFromCsv(this.#db, table, columns, csv);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#db.transaction((tx) => fn(queryable(tx)));
  }

  async close(): Promise<void> {
    try {
      if (!this.#db.closed) await this.#db.close();
    } finally {
      if (this.#lockPath) releaseHeld(this.#lockPath);
    }
  }
}

/** PGlite is one connection for the process's life, so one SET holds for every later query. */
async function withSchema(db: PGliteDatabase, options: PGliteOpenOptions): Promise<PGliteDatabase> {
  if (options.schema === undefined) return db;
  try {
    const schema = checkSchemaName(options.schema);
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
    return db;
  } catch (err) {
    await db.close();
    throw err;
  }
}
