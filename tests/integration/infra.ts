// What the integration tests know about the real servers the global setup provided.
import { inject } from 'vitest';

export interface InfraEnv {
  /** Variables that point Flywheel at the servers (TEMPORAL_ADDRESS, DATABASE_URL, …). */
  env: Record<string, string>;
  temporalAddress: string;
  temporalCliPath: string;
  databaseUrl: string;
  s3Endpoint: string;
  s3Bucket: string;
  mlflowBucket: string;
  mlflowUri: string;
  /** A Python with the `mlflow` package (the provisioned venv), for client-compatibility checks. */
  mlflowPython?: string;
  /** The trainers venv's Python (scikit-learn, skl2onnx, onnxruntime, tritonclient). */
  trainersPython?: string;
  /** HAProxy (the load balancer and TLS terminator tests start their own). */
  haproxyPath?: string;
  /** Jaeger v2 all-in-one (the tracing test starts its own, on free ports). */
  jaegerPath?: string;
  /** The Temporal Web UI of the dev server. */
  temporalUiUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    infra: InfraEnv;
  }
}

export function getInfra(): InfraEnv {
  return inject('infra');
}

/** The AWS SDK reads credentials from the process environment (default provider chain). */
export function useInfraAwsCredentials(infra: InfraEnv): void {
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
    const value = infra.env[key];
    if (value) process.env[key] = value;
  }
}
