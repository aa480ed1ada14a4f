/**
 * Host paths, every one resolved under a host root so that tests and demos
 * never touch the machine's own /etc. The root is "/" on a real node.
 */
import { existsSync } from "node:fs";
import path from "node:path";

export const SYSTEM_ZONEINFO = "/usr/share/zoneinfo";

export interface HostPathOptions {
  /** Folder that stands for "/" of the managed host. */
  root: string;
  /**
   * Zoneinfo tree to read. Default: <root>/usr/share/zoneinfo when it
   * exists, else the machine's own /usr/share/zoneinfo (read only).
   */
  zoneinfo?: string;
}

export class HostPaths {
  readonly root: string;
  readonly zoneinfo: string;

  constructor(options: HostPathOptions) {
    this.root = path.resolve(options.root);
    this.zoneinfo = path.resolve(
      options.zoneinfo ?? defaultZoneinfo(this.root),
    );
  }

  /** Resolves an absolute host path, such as /etc/localtime, under root. */
  resolve(hostPath: string): string {
    if (!hostPath.startsWith("/")) {
      throw new Error(`Host path must be absolute: ${hostPath}`);
    }
    return path.join(this.root, hostPath);
  }

  get localtime(): string {
    return this.resolve("/etc/localtime");
  }

  get timezoneFile(): string {
    return this.resolve("/etc/timezone");
  }

  get isRealRoot(): boolean {
    return this.root === "/";
  }

  /**
   * The zoneinfo folder as a program inside the host sees it, used as the
   * target of the /etc/localtime symlink.
   */
  get zoneinfoInsideHost(): string {
    const rel = path.relative(this.root, this.zoneinfo);
    if (rel.startsWith("..") || path.isAbsolute(rel)) return this.zoneinfo;
    return `/${rel}`;
  }
}

function defaultZoneinfo(root: string): string {
  const inRoot = path.join(root, SYSTEM_ZONEINFO);
  return existsSync(inRoot) ? inRoot : SYSTEM_ZONEINFO;
}
