// The workflow bundle of tests/integration/tls.test.ts: one workflow with no activities, so a run
// proves the worker's and the client's connections, nothing else.
export async function tlsEcho(input: { text: string }): Promise<string> {
  return `echo: ${input.text}`;
}
