/**
 * The error table of docs/errors.md against src/errors.ts: every code is
 * documented with the same scode, name and HTTP status, no scode is used
 * twice, and the message templates follow the project's rules (sentence
 * case, no final period, a headline that names what failed, the same
 * placeholders in English and Chinese).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { ERRORS, type ErrorDef } from "../../src/errors.ts";

const DOC = path.resolve(import.meta.dirname, "../../docs/errors.md");

interface DocRow {
  scode: number;
  name: string;
  http: number;
  meaning: string;
  fix: string;
}

/** The rows of the table whose first cell is a number. */
function docRows(): DocRow[] {
  return readFileSync(DOC, "utf8")
    .split("\n")
    .filter((line) => /^\|\s*\d+\s*\|/.test(line))
    .map((line) => {
      const cells = line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim());
      const [scode = "", name = "", http = "", meaning = "", fix = ""] = cells;
      return {
        scode: Number(scode),
        name,
        http: Number(http),
        meaning,
        fix,
      };
    });
}

const defs = Object.entries(ERRORS) as [string, ErrorDef][];

function placeholders(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "").sort();
}

/** The words before the first colon, placeholders left out. */
function headline(template: string): string[] {
  const head = template.split(":")[0] ?? "";
  return head
    .replace(/\{\w+\}/g, " ")
    .split(/\s+/)
    .filter((w) => w !== "");
}

/** Program names that are written in lower case at a sentence start. */
const LOWER_CASE_NAMES = ["chrony", "chronyd", "chronyc"];

describe("docs/errors.md and src/errors.ts", () => {
  const rows = docRows();

  it("parses a table of at least as many rows as codes", () => {
    assert.ok(rows.length >= 28, `only ${rows.length} rows in ${DOC}`);
    for (const row of rows) {
      assert.ok(Number.isInteger(row.scode), JSON.stringify(row));
      assert.ok(Number.isInteger(row.http), JSON.stringify(row));
    }
  });

  for (const [name, def] of defs) {
    it(`${name} is documented: scode ${def.scode}, HTTP ${def.http}`, () => {
      const row = rows.find((r) => r.name === name);
      assert.ok(row, `docs/errors.md has no row for ${name} (${def.scode})`);
      assert.equal(row.scode, def.scode, `scode of ${name}`);
      assert.equal(row.http, def.http, `HTTP status of ${name}`);
      assert.notEqual(row.meaning, "", `meaning of ${name}`);
      assert.notEqual(row.fix, "", `how to fix ${name}`);
    });
  }

  it("documents no code that src/errors.ts lacks", () => {
    const names = new Set(defs.map(([name]) => name));
    const extra = rows.filter((r) => !names.has(r.name)).map((r) => r.name);
    assert.deepEqual(extra, []);
  });

  it("uses no scode twice, in the code or in the table", () => {
    const codeScodes = defs.map(([, d]) => d.scode);
    const twiceInCode = codeScodes.filter(
      (s, i) => codeScodes.indexOf(s) !== i,
    );
    assert.deepEqual(twiceInCode, []);
    const docScodes = rows.map((r) => r.scode);
    const twiceInDoc = docScodes.filter((s, i) => docScodes.indexOf(s) !== i);
    assert.deepEqual(twiceInDoc, []);
    const docNames = rows.map((r) => r.name);
    assert.equal(new Set(docNames).size, docNames.length);
  });

  it("keeps 0 for success and gives every code an error HTTP status", () => {
    for (const [name, def] of defs) {
      assert.ok(def.scode > 0, name);
      const partial = def.http === 207;
      assert.ok(partial || def.http >= 400, `${name}: HTTP ${def.http}`);
      assert.ok(def.http < 600, `${name}: HTTP ${def.http}`);
    }
  });

  for (const [name, def] of defs) {
    it(`${name}: English template names what failed`, () => {
      // A leading placeholder is a count, such as "2 of 3 nodes failed".
      const lowerName = LOWER_CASE_NAMES.some((n) => def.en.startsWith(n));
      assert.ok(
        lowerName || /^([A-Z0-9]|\{\w+\})/.test(def.en),
        `${name}: not in sentence case: ${def.en}`,
      );
      assert.ok(!/[.!]\s*$/.test(def.en), `${name}: final period: ${def.en}`);
      const words = headline(def.en);
      const hasSubject =
        placeholders(def.en.split(":")[0] ?? "").length > 0 ||
        words.length >= 2;
      assert.ok(
        hasSubject,
        `${name}: the headline ${JSON.stringify(words.join(" "))} of ` +
          `${JSON.stringify(def.en)} does not name what failed`,
      );
    });

    it(`${name}: Chinese template has the English placeholders`, () => {
      assert.deepEqual(placeholders(def.cn), placeholders(def.en));
      assert.match(def.cn, /[\u4e00-\u9fff]/, `${name}: no Chinese text`);
      assert.ok(!/[。.]\s*$/.test(def.cn), `${name}: final period`);
    });
  }
});
