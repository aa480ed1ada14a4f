/**
 * Atomic file replacement: write a temporary file beside the target, fsync
 * it, rename it over the target and fsync the folder. The previous content
 * is kept in "<file>.prev" so that a rejected change can be rolled back.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";

export interface AtomicWriteOptions {
  /** File mode of the new file, such as 0o644. */
  mode?: number;
  /** Keep the replaced content in "<file>.prev". Default true. */
  keepPrevious?: boolean;
}

export function previousPath(file: string): string {
  return `${file}.prev`;
}

export async function writeFileAtomic(
  file: string,
  content: string | Buffer,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  if (options.keepPrevious !== false) await keepPrevious(file);

  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`,
  );
  const handle = await fs.open(tmp, "wx", options.mode ?? 0o644);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }

  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** Puts "<file>.prev" back in place; false when there was none. */
export async function restorePrevious(file: string): Promise<boolean> {
  const prev = previousPath(file);
  try {
    const content = await fs.readFile(prev);
    await writeFileAtomic(file, content, { keepPrevious: false });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** Atomically points a symlink at target, replacing whatever was there. */
export async function symlinkAtomic(
  target: string,
  link: string,
): Promise<void> {
  const dir = path.dirname(link);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(
    dir,
    `.${path.basename(link)}.${randomBytes(6).toString("hex")}.tmp`,
  );
  await fs.symlink(target, tmp);
  try {
    await fs.rename(tmp, link);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

async function keepPrevious(file: string): Promise<void> {
  try {
    await fs.copyFile(file, previousPath(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
