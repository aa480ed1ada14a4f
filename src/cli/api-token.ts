/**
 * The controller's API token: made at first start, kept in
 * <data>/api-token with mode 0600, rotated through the API. Readers get the
 * current value, so a rotation takes effect on the next request.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { generateToken } from "../agent/token.ts";
import { writeFileAtomic } from "../host/atomic-file.ts";

export class ApiToken {
  readonly file: string;
  private value: string | null = null;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, "api-token");
  }

  /** Loads the token, making one on first start. */
  async load(): Promise<string> {
    try {
      this.value = readFileSync(this.file, "utf8").trim() || null;
    } catch {
      this.value = null;
    }
    return this.value ?? (await this.rotate());
  }

  current(): string | null {
    return this.value;
  }

  async rotate(): Promise<string> {
    const token = generateToken();
    await writeFileAtomic(this.file, `${token}\n`, {
      mode: 0o600,
      keepPrevious: false,
    });
    this.value = token;
    return token;
  }
}
