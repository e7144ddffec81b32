// The one error `flywheel init` raises for a problem with its input (a missing file, a label
// that is not a column, a label with one value); its message is the whole explanation.
export class OnboardingError extends Error {
  override readonly name = 'OnboardingError';
}
