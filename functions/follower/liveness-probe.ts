import { request } from 'node:http';

export interface LivenessProbeOptions {
  port: number;
  host?: string;
  timeoutMs?: number;
}

/** GET /health/live on the task's own health server: true on a 200 within the timeout, false otherwise. */
export function probeLiveness({ port, host = '127.0.0.1', timeoutMs = 3_000 }: LivenessProbeOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = request({ host, port, path: '/health/live', method: 'GET', timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    probe.on('timeout', () => probe.destroy(new Error('timed out')));
    probe.on('error', () => resolve(false));
    probe.end();
  });
}
