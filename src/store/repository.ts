/**
 * The repository: every read and write of the controller's state goes
 * through here, so that a server database can replace SQLite later.
 */
import { chmodSync, mkdirSync } from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { migrate } from "./migrate.ts";

export interface ClusterRow {
  uuid: string;
  name: string;
  created_at: string;
}

export interface DesiredState {
  cluster_uuid: string;
  version: number;
  servers: string[];
  poll_log2: number;
  timezone: string | null;
  updated_at: string;
}

export interface NodeRow {
  id: number;
  cluster_uuid: string;
  addr: string;
  port: number;
  local: boolean;
  applied_version: number;
  last_state: unknown;
  last_error: string | null;
  last_seen_at: string | null;
  created_at: string;
}

export interface AuditEntry {
  id: number;
  cluster_uuid: string;
  at: string;
  action: string;
  version: number | null;
  detail: unknown;
}

export type DesiredChange = Partial<
  Pick<DesiredState, "servers" | "poll_log2" | "timezone">
>;

/** Default poll interval: 64 s, chrony's own default minpoll. */
export const DEFAULT_POLL_LOG2 = 6;

export class Repository {
  readonly db: BetterSqlite3.Database;

  constructor(file: string) {
    if (file !== ":memory:") {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    }
    this.db = new BetterSqlite3(file);
    // The store holds the clusters' agent tokens: owner only, whatever the
    // folder's mode.
    if (file !== ":memory:") chmodSync(file, 0o600);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("busy_timeout = 5000");
    migrate(this.db);
  }

  close(): void {
    this.db.close();
  }

  createCluster(uuid: string, name: string, token: string): ClusterRow {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(
          "INSERT INTO clusters (uuid, name, created_at, token) VALUES (?, ?, ?, ?)",
        )
        .run(uuid, name, now, token);
      this.db
        .prepare(
          `INSERT INTO desired_state (cluster_uuid, version, servers_json,
           poll_log2, timezone, updated_at) VALUES (?, 0, '[]', ?, NULL, ?)`,
        )
        .run(uuid, DEFAULT_POLL_LOG2, now);
    })();
    return { uuid, name, created_at: now };
  }

  deleteCluster(uuid: string): boolean {
    return (
      this.db.prepare("DELETE FROM clusters WHERE uuid = ?").run(uuid).changes >
      0
    );
  }

  listClusters(): ClusterRow[] {
    return this.db
      .prepare(
        "SELECT uuid, name, created_at FROM clusters ORDER BY created_at",
      )
      .all() as ClusterRow[];
  }

  /** The token agents of this cluster require; never in a listing. */
  clusterToken(uuid: string): string | null {
    const row = this.db
      .prepare("SELECT token FROM clusters WHERE uuid = ?")
      .get(uuid) as { token: string } | undefined;
    return row?.token || null;
  }

  setClusterToken(uuid: string, token: string): void {
    this.db
      .prepare("UPDATE clusters SET token = ? WHERE uuid = ?")
      .run(token, uuid);
  }

  findNode(uuid: string, addr: string, port: number): NodeRow | undefined {
    const row = this.db
      .prepare(
        "SELECT * FROM nodes WHERE cluster_uuid = ? AND addr = ? AND port = ?",
      )
      .get(uuid, addr, port);
    return row ? toNode(row as RawNode) : undefined;
  }

  updateNodeAddr(id: number, addr: string): void {
    this.db.prepare("UPDATE nodes SET addr = ? WHERE id = ?").run(addr, id);
  }

  getCluster(uuid: string): ClusterRow | undefined {
    return this.db
      .prepare("SELECT uuid, name, created_at FROM clusters WHERE uuid = ?")
      .get(uuid) as ClusterRow | undefined;
  }

  getDesired(uuid: string): DesiredState | undefined {
    const row = this.db
      .prepare("SELECT * FROM desired_state WHERE cluster_uuid = ?")
      .get(uuid) as
      | (Omit<DesiredState, "servers"> & { servers_json: string })
      | undefined;
    if (!row) return undefined;
    const { servers_json, ...rest } = row;
    return { ...rest, servers: JSON.parse(servers_json) as string[] };
  }

  /**
   * Applies a change to the desired state, bumps its version and writes the
   * audit entry, all in one transaction.
   */
  updateDesired(
    uuid: string,
    change: DesiredChange,
    action: string,
    detail: unknown,
  ): DesiredState {
    return this.db.transaction(() => {
      const current = this.getDesired(uuid);
      if (!current) throw new Error(`No desired state for cluster ${uuid}`);
      const next: DesiredState = {
        ...current,
        ...change,
        version: current.version + 1,
        updated_at: new Date().toISOString(),
      };
      this.db
        .prepare(
          `UPDATE desired_state SET version = ?, servers_json = ?,
           poll_log2 = ?, timezone = ?, updated_at = ? WHERE cluster_uuid = ?`,
        )
        .run(
          next.version,
          JSON.stringify(next.servers),
          next.poll_log2,
          next.timezone,
          next.updated_at,
          uuid,
        );
      this.audit(uuid, action, next.version, detail);
      return next;
    })();
  }

  audit(
    uuid: string,
    action: string,
    version: number | null,
    detail: unknown,
  ): void {
    this.db
      .prepare(
        `INSERT INTO audit_log (cluster_uuid, at, action, version, detail_json)
         VALUES (?, ?, ?, ?, ?)`,
      )
      .run(
        uuid,
        new Date().toISOString(),
        action,
        version,
        JSON.stringify(detail),
      );
  }

  listAudit(uuid: string, limit = 100): AuditEntry[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM audit_log WHERE cluster_uuid = ?
         ORDER BY id DESC LIMIT ?`,
      )
      .all(uuid, limit) as (Omit<AuditEntry, "detail"> & {
      detail_json: string;
    })[];
    return rows.map(({ detail_json, ...rest }) => ({
      ...rest,
      detail: JSON.parse(detail_json),
    }));
  }

  addNode(uuid: string, addr: string, port: number, local: boolean): NodeRow {
    const info = this.db
      .prepare(
        `INSERT INTO nodes (cluster_uuid, addr, port, local, created_at)
         VALUES (?, ?, ?, ?, ?)`,
      )
      .run(uuid, addr, port, local ? 1 : 0, new Date().toISOString());
    const node = this.getNode(Number(info.lastInsertRowid));
    if (!node) throw new Error("Node vanished after insert");
    return node;
  }

  deleteNode(id: number): boolean {
    return (
      this.db.prepare("DELETE FROM nodes WHERE id = ?").run(id).changes > 0
    );
  }

  getNode(id: number): NodeRow | undefined {
    const row = this.db.prepare("SELECT * FROM nodes WHERE id = ?").get(id);
    return row ? toNode(row as RawNode) : undefined;
  }

  listNodes(uuid: string): NodeRow[] {
    return (
      this.db
        .prepare("SELECT * FROM nodes WHERE cluster_uuid = ? ORDER BY id")
        .all(uuid) as RawNode[]
    ).map(toNode);
  }

  /** Makes the reconcile loop bring this node up to date again. */
  markBehind(id: number): void {
    this.db
      .prepare("UPDATE nodes SET applied_version = 0 WHERE id = ?")
      .run(id);
  }

  recordNodeState(
    id: number,
    update: {
      applied_version?: number;
      state?: unknown;
      error: string | null;
    },
  ): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `UPDATE nodes SET
           applied_version = COALESCE(?, applied_version),
           last_state_json = COALESCE(?, last_state_json),
           last_error = ?,
           last_seen_at = CASE WHEN ? IS NULL THEN ? ELSE last_seen_at END
         WHERE id = ?`,
      )
      .run(
        update.applied_version ?? null,
        update.state === undefined ? null : JSON.stringify(update.state),
        update.error,
        update.error,
        now,
        id,
      );
  }

  integrityCheck(): string {
    const row = this.db.pragma("integrity_check", { simple: true });
    return String(row);
  }
}

interface RawNode {
  id: number;
  cluster_uuid: string;
  addr: string;
  port: number;
  local: number;
  applied_version: number;
  last_state_json: string | null;
  last_error: string | null;
  last_seen_at: string | null;
  created_at: string;
}

function toNode(row: RawNode): NodeRow {
  return {
    id: row.id,
    cluster_uuid: row.cluster_uuid,
    addr: row.addr,
    port: row.port,
    local: row.local === 1,
    applied_version: row.applied_version,
    last_state: row.last_state_json ? JSON.parse(row.last_state_json) : null,
    last_error: row.last_error,
    last_seen_at: row.last_seen_at,
    created_at: row.created_at,
  };
}
