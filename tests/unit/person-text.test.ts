// Who and why in an Update (approve, reject, setState, rollout pause/abort, promotion decisions)
// must be text PostgreSQL can store: a NUL accepted by a validator would fail every retry of the
// activity that records the decision. The validators refuse it; the audit tables repair what an
// older history already accepted.
import { describe, expect, it } from 'vitest';
import { approvalDecisionSchema, setStateSchema } from '../../lib/contracts/model-lifecycle.ts';
import { MAX_PERSON_TEXT_CHARS } from '../../lib/contracts/person-text.ts';
import { promotionDecisionSchema } from '../../lib/contracts/promotion.ts';
import { abortRolloutInput, pauseRolloutInput } from '../../lib/contracts/rollout.ts';
import { openDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';

const bad = ['a\u0000b', 'lone \uD800 surrogate', 'x'.repeat(MAX_PERSON_TEXT_CHARS + 1), '   '];

describe('person text in Update validators', () => {
  it.each([
    ['approve/reject', (r: string) => approvalDecisionSchema.safeParse({ actor: 'ana', reason: r })],
    ['setState', (r: string) => setStateSchema.safeParse({ state: 'paused', actor: 'ana', reason: r })],
    ['promotion decision', (r: string) => promotionDecisionSchema.safeParse({ actor: 'ana', reason: r })],
    ['rollout pause', (r: string) => pauseRolloutInput.safeParse({ actor: 'ana', reason: r })],
    ['rollout abort', (r: string) => abortRolloutInput.safeParse({ actor: 'ana', reason: r })],
  ])('%s refuses a reason PostgreSQL cannot store, an overlong or a blank one', (_name, parse) => {
    expect(parse('metrics hold up').success).toBe(true);
    for (const reason of bad) expect(parse(reason).success, JSON.stringify(reason.slice(0, 20))).toBe(false);
    const nul = parse('a\u0000b');
    expect(nul.success ? '' : nul.error.issues[0]!.message).toMatch(/NUL/);
  });

  it('refuses a NUL in the actor too', () => {
    expect(approvalDecisionSchema.safeParse({ actor: 'a\u0000', reason: 'ok' }).success).toBe(false);
  });
});

describe('audit records', () => {
  it('store a decision whose reason holds a NUL with it replaced, instead of failing', async () => {
    const { db } = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
    try {
      const registry = new BuiltinRegistry(db);
      const rec = await registry.recordApproval({ model: 'm', version: 1, decision: 'approved', actor: 'a\u0000', reason: 'ok\u0000go' });
      expect(rec).toMatchObject({ actor: 'a\uFFFD', reason: 'ok\uFFFDgo' });
      expect(await registry.approvals('m')).toMatchObject([{ reason: 'ok\uFFFDgo' }]);
    } finally {
      await db.close();
    }
  });
});
