-- Clusters, their versioned desired state, nodes and the audit log.
CREATE TABLE clusters (
  uuid TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE desired_state (
  cluster_uuid TEXT PRIMARY KEY REFERENCES clusters (uuid) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  servers_json TEXT NOT NULL,
  poll_log2 INTEGER NOT NULL,
  timezone TEXT,
  updated_at TEXT NOT NULL
);

CREATE TABLE nodes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cluster_uuid TEXT NOT NULL REFERENCES clusters (uuid) ON DELETE CASCADE,
  addr TEXT NOT NULL,
  port INTEGER NOT NULL,
  local INTEGER NOT NULL DEFAULT 0,
  applied_version INTEGER NOT NULL DEFAULT 0,
  last_state_json TEXT,
  last_error TEXT,
  last_seen_at TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (cluster_uuid, addr, port)
);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cluster_uuid TEXT NOT NULL,
  at TEXT NOT NULL,
  action TEXT NOT NULL,
  version INTEGER,
  detail_json TEXT NOT NULL
);

CREATE INDEX audit_log_cluster ON audit_log (cluster_uuid, id);
