// Custom search attributes that make the lifecycle legible in the Web UI and list filters, e.g.
// `FlywheelModel = "flights-delay" AND FlywheelStage = "validation-failed"`. Safe in workflow
// code. They must be registered on the server first (`ensureSearchAttributes`, the dev stack and
// infra.sh do it).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  model: defineSearchAttributeKey('FlywheelModel', SearchAttributeType.KEYWORD),
  /** Where a cycle is (`prepare`, `train`, …, `promoted`) or how it ended (`validation-failed`). */
  stage: defineSearchAttributeKey('FlywheelStage', SearchAttributeType.KEYWORD),
  /** The registry version a cycle produced. */
  version: defineSearchAttributeKey('FlywheelVersion', SearchAttributeType.INT),
  /** The git commit a GitOps reconciler (`gitops/<env>`) last applied in full. */
  gitCommit: defineSearchAttributeKey('FlywheelGitCommit', SearchAttributeType.KEYWORD),
} as const;

export const SEARCH_ATTRIBUTE_LIST = Object.values(SEARCH_ATTRIBUTES);
