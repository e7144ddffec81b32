// The who and why a person gives an Update (approve, reject, pause, abort, setState): non-blank,
// bounded, and text PostgreSQL can store. A NUL or an unpaired surrogate would pass a plain
// string check, be accepted into history, and then fail every retry of the activity that writes
// the decision to the registry — one request wedging a lifecycle. Validators refuse it instead.
import { z } from 'zod';
import { storableTextProblem } from '../text/storable.ts';

/** Longer than any reason a person types; shorter than anything that bloats a history. */
export const MAX_PERSON_TEXT_CHARS = 4000;

export function personText(missing: string) {
  return z
    .string(missing)
    .trim()
    .min(1, missing)
    .max(MAX_PERSON_TEXT_CHARS, `at most ${MAX_PERSON_TEXT_CHARS} characters`)
    .superRefine((s, ctx) => {
      const problem = storableTextProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: `${missing}: it ${problem}` });
    });
}
