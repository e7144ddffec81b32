// Storage errors. lib/temporal/failures.ts maps them to non-retryable NotFound and ArtifactCorrupt;
// the training activities turn ArtifactExistsError into a non-retryable `ArtifactExists`.

export class ArtifactNotFoundError extends Error {
  override readonly name = 'ArtifactNotFoundError';
  constructor(readonly uri: string) {
    super(`artifact not found: ${uri}`);
  }
}

export class ArtifactCorruptError extends Error {
  override readonly name = 'ArtifactCorruptError';
  constructor(
    readonly uri: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(`artifact checksum mismatch: ${uri} (expected sha256 ${expectedSha256}, got ${actualSha256})`);
  }
}

export class InvalidArtifactKeyError extends Error {
  override readonly name = 'InvalidArtifactKeyError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid artifact key ${JSON.stringify(key)}: ${reason}`);
  }
}

/** The `type` of the non-retryable failure an overwrite attempt becomes (lib/errors.ts has no row yet). */
export const ARTIFACT_EXISTS_FAILURE_TYPE = 'ArtifactExists';

/** A create-only write (`putOnce`) found other bytes under its key: written artifacts are never replaced. */
export class ArtifactExistsError extends Error {
  override readonly name = 'ArtifactExistsError';
  constructor(
    readonly key: string,
    readonly uri: string,
    readonly existingSha256: string,
    readonly attemptedSha256: string,
  ) {
    super(
      `artifact ${uri} already exists with other content (sha256 ${existingSha256}, refused ${attemptedSha256}): ` +
        'model artifacts are write-once',
    );
  }
}
