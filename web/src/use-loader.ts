/**
 * Loads data for a card and keeps it fresh. A new `key` (another cluster,
 * a new token) starts from empty; a new `rev` (a write changed something)
 * and the timer of `everyMs` load again while the old data stays shown. A
 * reply that comes back after a newer request was made is dropped, so a
 * slow answer never overwrites a fresh one.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { type ApiError, toApiError } from "./api.ts";

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => Promise<void>;
}

export interface LoaderOptions {
  /** Load again every so many milliseconds. */
  everyMs?: number;
  /** Load again when this changes. */
  rev?: number;
}

export function useLoader<T>(
  key: string | null,
  load: () => Promise<T>,
  options: LoaderOptions = {},
): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useRef(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine !== seq.current) return;
      setData(() => value);
      setError(null);
    } catch (err) {
      if (mine === seq.current) setError(toApiError(err));
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }).current;

  const { everyMs, rev } = options;

  useEffect(() => {
    seq.current++;
    setData(null);
    setError(null);
    if (key === null) return;
    if (everyMs === undefined) return;
    const timer = window.setInterval(() => void run(), everyMs);
    return () => window.clearInterval(timer);
  }, [key, everyMs, run]);

  useEffect(() => {
    if (key !== null && rev !== -1) void run();
  }, [key, rev, run]);

  return { data, error, loading, reload: run };
}
