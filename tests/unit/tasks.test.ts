// The task type: its schema, the label encoding each task needs, the output head and the fields
// of a prediction.
import { describe, expect, it } from 'vitest';
import { encodeLabels, fitClasses, LabelError, predictionOf, taskHead, taskSchema, type Task } from '../../lib/tasks/index.ts';

const species: Task = { kind: 'multiclass', classes: ['Adelie', 'Chinstrap', 'Gentoo'] };

describe('taskSchema', () => {
  it('accepts the three tasks and refuses a multiclass task with duplicate or too few classes', () => {
    expect(taskSchema.parse({ kind: 'binary' })).toEqual({ kind: 'binary' });
    expect(taskSchema.parse(species)).toEqual(species);
    expect(taskSchema.parse({ kind: 'regression' })).toEqual({ kind: 'regression' });
    expect(taskSchema.safeParse({ kind: 'multiclass', classes: ['a'] }).error?.issues[0]?.message).toBe(
      'a multiclass task has at least 2 classes',
    );
    expect(taskSchema.safeParse({ kind: 'multiclass', classes: ['a', 'a'] }).error?.issues[0]?.message).toBe('class names are unique');
    expect(taskSchema.safeParse({ kind: 'regression', classes: ['a', 'b'] }).success).toBe(false);
    expect(taskSchema.safeParse({ kind: 'ranking' }).success).toBe(false);
  });
});

describe('taskHead', () => {
  it('says the output width, activation, loss and prediction fields per task', () => {
    expect(taskHead({ kind: 'binary' })).toMatchObject({
      units: 1,
      activation: 'sigmoid',
      loss: 'binary-cross-entropy',
      predictionFields: ['probability'],
    });
    expect(taskHead(species)).toMatchObject({ units: 3, activation: 'softmax', predictionFields: ['class', 'probabilities'] });
    expect(taskHead({ kind: 'regression' })).toMatchObject({
      units: 1,
      activation: 'linear',
      loss: 'mean-squared-error',
      predictionFields: ['value'],
    });
  });

  it('turns an output row into the prediction fields', () => {
    expect(predictionOf(species, [0.1, 0.7, 0.2, 0.5, 0.3, 0.2], 3)).toEqual({
      class: 'Adelie',
      probabilities: { Adelie: 0.5, Chinstrap: 0.3, Gentoo: 0.2 },
    });
    expect(predictionOf({ kind: 'regression' }, [21.5])).toEqual({ value: 21.5 });
    expect(predictionOf({ kind: 'binary' }, [0.25])).toEqual({ probability: 0.25 });
  });
});

describe('labels', () => {
  it('fits an ordered class list: text sorted, numbers numerically, nulls left out', () => {
    expect(fitClasses(['Gentoo', 'Adelie', null, 'Chinstrap', 'Adelie'])).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
    expect(fitClasses([10, 2, 1, 2])).toEqual(['1', '2', '10']);
  });

  it('encodes binary 0/1, multiclass class indices and regression floats', () => {
    expect([...encodeLabels({ kind: 'binary' }, [true, 0, '1', 'false'])]).toEqual([1, 0, 1, 0]);
    expect([...encodeLabels(species, ['Gentoo', 'Adelie', 'Chinstrap'])]).toEqual([2, 0, 1]);
    expect([...encodeLabels({ kind: 'multiclass', classes: ['1', '2', '10'] }, [10, 1])]).toEqual([2, 0]);
    expect([...encodeLabels({ kind: 'regression' }, [1.5, '2', -3n])]).toEqual([1.5, 2, -3]);
  });

  it('names the row of a label it cannot encode', () => {
    expect(() => encodeLabels({ kind: 'binary' }, [1, 2])).toThrow(new LabelError('label at row 1 is 2, not 0/1 or true/false'));
    expect(() => encodeLabels(species, ['Adelie', 'Emperor'])).toThrow(
      new LabelError('label at row 1 is Emperor, not one of the 3 fitted classes'),
    );
    expect(() => encodeLabels({ kind: 'regression' }, [null])).toThrow(new LabelError('label at row 0 is null, not a finite number'));
    expect(() => encodeLabels({ kind: 'regression' }, [''])).toThrow(LabelError);
  });
});
