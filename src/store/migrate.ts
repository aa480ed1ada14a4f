/**
 * Plain numbered SQL migrations, run in order at start inside one
 * transaction each. The applied ones are recorded in schema_migrations.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Database } from "better-sqlite3";

const MIGRATIONS_DIR = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "migrations",
);

export function migrate(db: Database): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const done = new Set(
    db
      .prepare("SELECT id FROM schema_migrations")
      .all()
      .map((r) => (r as { id: number }).id),
  );
  const applied: number[] = [];

  for (const file of migrationFiles()) {
    if (done.has(file.id)) continue;
    const sql = readFileSync(path.join(MIGRATIONS_DIR, file.name), "utf8");
    db.transaction(() => {
      db.exec(sql);
      db.prepare(
        "INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)",
      ).run(file.id, file.name, new Date().toISOString());
    })();
    applied.push(file.id);
  }
  return applied;
}

function migrationFiles(): { id: number; name: string }[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((name) => /^\d+-[\w-]+\.sql$/.test(name))
    .map((name) => ({ id: Number.parseInt(name, 10), name }))
    .sort((a, b) => a.id - b.id);
}
