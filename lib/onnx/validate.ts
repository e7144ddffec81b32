// Shape checks on MlpWeights, run before anything is encoded so a bad kernel fails with a
// message naming the layer instead of an ORT load error.
import { InvalidModelError } from './errors.ts';
import { MLP_ACTIVATIONS, MLP_HEADS, type MlpWeights } from './types.ts';

export function validateMlp(mlp: MlpWeights): void {
  if (!Number.isInteger(mlp.inputDim) || mlp.inputDim < 1) {
    throw new InvalidModelError(`inputDim must be a positive integer, got ${mlp.inputDim}`);
  }
  if (mlp.layers.length === 0) throw new InvalidModelError('an MLP needs at least one layer');
  let width = mlp.inputDim;
  mlp.layers.forEach((layer, i) => {
    if (layer.inputs !== width) {
      throw new InvalidModelError(`layer ${i} takes ${layer.inputs} inputs but receives ${width}`);
    }
    if (!Number.isInteger(layer.units) || layer.units < 1) {
      throw new InvalidModelError(`layer ${i} units must be a positive integer, got ${layer.units}`);
    }
    if (layer.weights.length !== layer.inputs * layer.units) {
      throw new InvalidModelError(`layer ${i} kernel has ${layer.weights.length} values, expected ${layer.inputs}×${layer.units}`);
    }
    if (layer.bias.length !== layer.units) {
      throw new InvalidModelError(`layer ${i} bias has ${layer.bias.length} values, expected ${layer.units}`);
    }
    if (!MLP_ACTIVATIONS.includes(layer.activation)) {
      throw new InvalidModelError(`layer ${i} has unsupported activation ${String(layer.activation)}`);
    }
    width = layer.units;
  });
  mlp.layers.slice(0, -1).forEach((layer, i) => {
    if (layer.activation === 'softmax') throw new InvalidModelError(`layer ${i} is hidden; only the last layer may be a softmax`);
  });
  const last = mlp.layers[mlp.layers.length - 1]!;
  const head = mlp.head ?? 'binary';
  if (!MLP_HEADS.includes(head)) throw new InvalidModelError(`unknown head ${String(head)}`);
  if (head === 'binary' && (last.units !== 1 || last.activation !== 'sigmoid')) {
    throw new InvalidModelError(
      `the last layer must have 1 unit and a sigmoid (binary classifier), got ${last.units} × ${last.activation}`,
    );
  }
  if (head === 'multiclass' && (last.units < 2 || last.activation !== 'softmax')) {
    throw new InvalidModelError(
      `the last layer must have 2 or more units and a softmax (multiclass classifier), got ${last.units} × ${last.activation}`,
    );
  }
  if (head === 'regression' && (last.units !== 1 || last.activation !== 'linear')) {
    throw new InvalidModelError(`the last layer must have 1 unit and no activation (regression), got ${last.units} × ${last.activation}`);
  }
}

export function checkRows(x: Float32Array, rows: number, inputDim: number): void {
  if (!Number.isInteger(rows) || rows < 0 || x.length !== rows * inputDim) {
    throw new InvalidModelError(`expected ${rows}×${inputDim} = ${rows * inputDim} values, got ${x.length}`);
  }
}
