// Checkpoint encoding: one self-describing binary blob — a JSON header (shapes, names, training
// state) followed by the float32 tensors — written atomically to the artifact store, with the
// store's SHA-256 guarding against torn or corrupted files.

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface TrainingState {
  epoch: number;
  /** Batches done within `epoch`. */
  stepInEpoch: number;
  /** Batches done since the start of training. */
  globalStep: number;
  /** Sum of this epoch's batch losses so far (the epoch's mean loss survives a resume). */
  epochLossSum: number;
  rngState: number;
  /** The permutation seed of the current epoch, so its batch order replays after a resume. */
  epochSeed: number;
  /** Whether `epochSeed` was already drawn for `epoch` (a stop can come before its first step). */
  epochSeedDrawn: boolean;
  bestValLoss: number | null;
  epochsWithoutImprovement: number;
  history: Array<{ epoch: number; loss: number; valLoss: number }>;
}

export interface Checkpoint {
  version: 1;
  config: unknown;
  state: TrainingState;
  weights: NamedTensor[];
  optimizer: NamedTensor[];
  /** Weights at the best validation loss so far (what early stopping returns). */
  best: NamedTensor[];
}

const MAGIC = Buffer.from('FWCKPT01');

export function encodeCheckpoint(ckpt: Checkpoint): Buffer {
  const tensors = [...ckpt.weights, ...ckpt.optimizer, ...ckpt.best];
  const header = {
    version: ckpt.version,
    config: ckpt.config,
    state: ckpt.state,
    weights: ckpt.weights.map((t) => ({ name: t.name, shape: t.shape, length: t.data.length })),
    optimizer: ckpt.optimizer.map((t) => ({ name: t.name, shape: t.shape, length: t.data.length })),
    best: ckpt.best.map((t) => ({ name: t.name, shape: t.shape, length: t.data.length })),
  };
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  // Pad the header so the float data starts 4-byte aligned.
  const pad = Buffer.alloc((4 - ((MAGIC.length + 4 + json.length) % 4)) % 4, 0x20);
  const parts: Buffer[] = [MAGIC, len, json, pad];
  for (const t of tensors) parts.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return Buffer.concat(parts);
}

export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
}

export function decodeCheckpoint(bytes: Buffer): Checkpoint {
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    throw new CheckpointFormatError('not a Flywheel checkpoint');
  const jsonLen = bytes.readUInt32LE(MAGIC.length);
  const jsonStart = MAGIC.length + 4;
  if (jsonStart + jsonLen > bytes.length) throw new CheckpointFormatError('truncated checkpoint header');
  const header = JSON.parse(bytes.subarray(jsonStart, jsonStart + jsonLen).toString('utf8')) as {
    version: 1;
    config: unknown;
    state: TrainingState;
    weights: Array<{ name: string; shape: number[]; length: number }>;
    optimizer: Array<{ name: string; shape: number[]; length: number }>;
    best: Array<{ name: string; shape: number[]; length: number }>;
  };
  let offset = jsonStart + jsonLen;
  offset += (4 - (offset % 4)) % 4;
  const read = (specs: typeof header.weights): NamedTensor[] =>
    specs.map((s) => {
      const end = offset + s.length * 4;
      if (end > bytes.length) throw new CheckpointFormatError(`truncated checkpoint data at tensor ${s.name}`);
      const data = new Float32Array(s.length);
      Buffer.from(data.buffer).set(bytes.subarray(offset, end));
      offset = end;
      return { name: s.name, shape: s.shape, data };
    });
  const weights = read(header.weights);
  const optimizer = read(header.optimizer);
  const best = read(header.best);
  if (offset !== bytes.length) throw new CheckpointFormatError('checkpoint has trailing bytes');
  return { version: header.version, config: header.config, state: header.state, weights, optimizer, best };
}
