/**
 * Fan-out: run one operation on many nodes at once, with bounded
 * concurrency and a deadline per node. Every node gets an outcome; a node
 * that throws or times out is a failure, never dropped.
 */

export interface FanOutOptions {
  /** Most operations in flight at once. */
  concurrency: number;
  /** Deadline of one node's operation, in milliseconds. */
  timeoutMs: number;
}

export type Outcome<T> =
  | { ok: true; value: T; elapsed_ms: number }
  | { ok: false; error: Error; elapsed_ms: number };

export async function fanOut<N, T>(
  nodes: readonly N[],
  operation: (node: N) => Promise<T>,
  options: FanOutOptions,
): Promise<Outcome<T>[]> {
  const outcomes: Outcome<T>[] = new Array(nodes.length);
  let next = 0;

  const worker = async (): Promise<void> => {
    while (next < nodes.length) {
      const index = next++;
      outcomes[index] = await runOne(
        () => operation(nodes[index] as N),
        options.timeoutMs,
      );
    }
  };

  const workers = Math.max(1, Math.min(options.concurrency, nodes.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return outcomes;
}

export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

async function runOne<T>(
  operation: () => Promise<T>,
  timeoutMs: number,
): Promise<Outcome<T>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(timeoutMs)), timeoutMs);
  });

  try {
    const value = await Promise.race([operation(), deadline]);
    return { ok: true, value, elapsed_ms: performance.now() - started };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    return { ok: false, error, elapsed_ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}
