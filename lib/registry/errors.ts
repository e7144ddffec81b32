// Registry errors: typed not-found errors that name what was missing, and the MLflow transport
// errors. lib/temporal/failures.ts maps not-found to the non-retryable NotFound failure type.

export class RegistryNotFoundError extends Error {
  override readonly name: string = 'RegistryNotFoundError';
}

export class ModelNotFoundError extends RegistryNotFoundError {
  override readonly name = 'ModelNotFoundError';
  constructor(readonly model: string) {
    super(`model ${JSON.stringify(model)} is not registered`);
  }
}

export class VersionNotFoundError extends RegistryNotFoundError {
  override readonly name = 'VersionNotFoundError';
  constructor(
    readonly model: string,
    readonly version: number,
  ) {
    super(`model ${JSON.stringify(model)} has no version ${version}`);
  }
}

export class AliasNotFoundError extends RegistryNotFoundError {
  override readonly name = 'AliasNotFoundError';
  constructor(
    readonly model: string,
    readonly alias: string,
  ) {
    super(`model ${JSON.stringify(model)} has no alias ${JSON.stringify(alias)}`);
  }
}

export class RegistryConflictError extends Error {
  override readonly name = 'RegistryConflictError';
}

/** MLflow answered with an error: its code and message, as MLflow wrote them. */
export class MlflowError extends Error {
  override readonly name = 'MlflowError';
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(`MLflow ${status} ${errorCode}: ${message}`);
  }
}

/** MLflow could not be reached after the retries. */
export class MlflowUnavailableError extends Error {
  override readonly name = 'MlflowUnavailableError';
}
