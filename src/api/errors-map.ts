/**
 * Maps what Fastify and Ajv throw (schema failures, bad JSON, wrong content
 * type, a body too large) to timeplane's own errors, so that every refusal
 * names the field and quotes the value.
 */
import type { FastifyError, FastifyRequest } from "fastify";
import { quote, TimeplaneError } from "../errors.ts";

interface AjvIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

export function toTimeplaneError(
  err: FastifyError,
  request: FastifyRequest,
): TimeplaneError | null {
  if (err.validation) {
    const issue = err.validation[0] as AjvIssue | undefined;
    const source =
      err.validationContext === "querystring" ? request.query : request.body;
    return issue ? fromAjv(issue, source) : null;
  }

  switch (err.code) {
    case "FST_ERR_BAD_URL":
    case "FST_STATIC_FORBIDDEN_PATH":
      return new TimeplaneError("ROUTE_NOT_FOUND", {
        method: request.method,
        value: quote(request.url.slice(0, 200)),
      });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new TimeplaneError("UNSUPPORTED_MEDIA_TYPE", {
        value: quote(request.headers["content-type"] ?? ""),
      });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new TimeplaneError("BODY_TOO_LARGE", {
        limit: request.routeOptions.bodyLimit ?? 0,
      });
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new TimeplaneError("MALFORMED_BODY", {
        why: "the content type is application/json but the body is empty",
      });
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new TimeplaneError("MALFORMED_BODY", {
        why: "the body is not valid JSON",
      });
  }
  if (err instanceof SyntaxError && /prototype/i.test(err.message)) {
    return new TimeplaneError("MALFORMED_BODY", {
      why: "the body holds a __proto__ or constructor key, which is refused",
    });
  }
  if (err instanceof SyntaxError || err.statusCode === 400) {
    return new TimeplaneError("MALFORMED_BODY", {
      why: "the body is not valid JSON",
    });
  }
  return null;
}

function fromAjv(issue: AjvIssue, source: unknown): TimeplaneError {
  if (issue.keyword === "required") {
    const field = String(issue.params.missingProperty);
    return new TimeplaneError("MISSING_FIELD", {
      field,
      why: "it is required",
    });
  }
  if (issue.keyword === "additionalProperties") {
    const field = String(issue.params.additionalProperty);
    return new TimeplaneError("UNKNOWN_FIELD", {
      field: quote(field),
      why: "this endpoint does not take it",
    });
  }

  const field = fieldName(issue.instancePath);
  if (field === "") {
    return new TimeplaneError("MALFORMED_BODY", {
      why: `the body ${issue.message ?? "is not valid"}`,
    });
  }
  return new TimeplaneError("INVALID_FIELD", {
    field,
    value: quote(valueAt(source, issue.instancePath)),
    why: describe(issue, field),
  });
}

function describe(issue: AjvIssue, field: string): string {
  const p = issue.params;
  switch (issue.keyword) {
    case "type":
      if (field === "addrs" && p.type === "array") {
        return "must be a list of addresses, not a single value";
      }
      return `must be ${article(String(p.type))}`;
    case "maxItems":
      return `must have at most ${p.limit} entries`;
    case "minItems":
      return `must have at least ${p.limit} entries`;
    case "maxLength":
      return `must be at most ${p.limit} characters`;
    case "minLength":
      return `must be at least ${p.limit} characters`;
    default:
      return issue.message ?? "is not valid";
  }
}

function article(type: string): string {
  const word = type === "array" ? "list" : type;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** "/addrs/0" -> "addrs[0]". */
function fieldName(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((part, i) =>
      /^\d+$/.test(part) ? `[${part}]` : i ? `.${part}` : part,
    )
    .join("");
}

function valueAt(source: unknown, instancePath: string): unknown {
  let value: unknown = source;
  for (const part of instancePath.split("/").slice(1)) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
