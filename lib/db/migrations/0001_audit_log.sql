-- Who did what to which object and why: alias moves, approvals, promotions, rollbacks.
-- Later features append to it; nothing updates or deletes rows.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  subject text NOT NULL,
  reason text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_log_subject_at ON audit_log (subject, at);
