/**
 * The one errors module. Every error timeplane returns has a stable numeric
 * scode (never reused), an HTTP status, and English and Chinese message
 * templates. docs/errors.md tables them with how to fix each. Templates take
 * {name} placeholders filled from the error's params.
 */

export interface ErrorDef {
  scode: number;
  http: number;
  en: string;
  cn: string;
}

export const ERRORS = {
  INVALID_FIELD: {
    scode: 1001,
    http: 400,
    en: "Invalid {field} {value}: {why}",
    cn: "参数 {field} 的值 {value} 无效：{why}",
  },
  MISSING_FIELD: {
    scode: 1002,
    http: 400,
    en: "Missing {field}: {why}",
    cn: "缺少参数 {field}：{why}",
  },
  UNKNOWN_FIELD: {
    scode: 1003,
    http: 400,
    en: "Unknown field {field}: {why}",
    cn: "未知参数 {field}：{why}",
  },
  MALFORMED_BODY: {
    scode: 1004,
    http: 400,
    en: "Malformed request body: {why}",
    cn: "请求体格式错误：{why}",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    scode: 1005,
    http: 415,
    en: "Unsupported content type {value}: send application/json",
    cn: "不支持的内容类型 {value}：请使用 application/json",
  },
  BODY_TOO_LARGE: {
    scode: 1006,
    http: 413,
    en: "Request body too large: the limit is {limit} bytes",
    cn: "请求体过大：上限为 {limit} 字节",
  },
  ZONE_NOT_FOUND: {
    scode: 1101,
    http: 404,
    en: "Unknown time zone {value}: not in the node's zoneinfo listing",
    cn: "未知时区 {value}：不在节点的时区列表中",
  },
  ZONE_REFUSED: {
    scode: 1102,
    http: 400,
    en: "Time zone {value} refused: {why}",
    cn: "拒绝时区 {value}：{why}",
  },
  ZONEINFO_UNAVAILABLE: {
    scode: 1103,
    http: 503,
    en: "Zoneinfo tree unavailable on node {addr}: {why}",
    cn: "节点 {addr} 的时区数据不可用：{why}",
  },
  SOURCE_UNUSABLE: {
    scode: 1201,
    http: 400,
    en: "Source {value} refused: {why}; send force: true to add it anyway",
    cn: "时间源 {value} 被拒绝：{why}；如需强制添加请传 force: true",
  },
  SOURCE_NOT_FOUND: {
    scode: 1202,
    http: 404,
    en: "Source {value} is not configured in cluster {cluster}",
    cn: "集群 {cluster} 中没有配置时间源 {value}",
  },
  CLUSTER_NOT_FOUND: {
    scode: 1301,
    http: 404,
    en: "Unknown cluster_uuid {value}",
    cn: "未知的集群 cluster_uuid {value}",
  },
  CLUSTER_REQUIRED: {
    scode: 1302,
    http: 400,
    en: "Missing cluster_uuid: {count} clusters exist, name one",
    cn: "缺少 cluster_uuid：存在 {count} 个集群，请指定一个",
  },
  NODE_NOT_FOUND: {
    scode: 1303,
    http: 404,
    en: "Unknown node {value} in cluster {cluster}",
    cn: "集群 {cluster} 中没有节点 {value}",
  },
  CONFLICT: {
    scode: 1304,
    http: 409,
    en: "Conflict on {field} {value}: {why}",
    cn: "{field} {value} 冲突：{why}",
  },
  NODE_UNREACHABLE: {
    scode: 1305,
    http: 502,
    en: "Node {value} did not answer: {why}",
    cn: "节点 {value} 无响应：{why}",
  },
  AGENT_TOKEN_REFUSED: {
    scode: 1306,
    http: 502,
    en: "Agent {value} refused the cluster token: start it with the token of cluster {cluster}",
    cn: "节点 {value} 的代理拒绝了集群令牌：请使用集群 {cluster} 的令牌启动代理",
  },
  ROUTE_NOT_FOUND: {
    scode: 1401,
    http: 404,
    en: "No route {method} {value}",
    cn: "没有路由 {method} {value}",
  },
  METHOD_NOT_ALLOWED: {
    scode: 1402,
    http: 405,
    en: "Method {method} not allowed on {value}: use {allowed}",
    cn: "{value} 不支持 {method} 方法：请使用 {allowed}",
  },
  UNAUTHORIZED: {
    scode: 1501,
    http: 401,
    en: "Missing or invalid token: {why}",
    cn: "令牌缺失或无效：{why}",
  },
  FORBIDDEN: {
    scode: 1502,
    http: 403,
    en: "Request {value} forbidden: {why}",
    cn: "请求 {value} 被禁止：{why}",
  },
  RATE_LIMITED: {
    scode: 1503,
    http: 429,
    en: "Too many requests: retry after {retry_after_s} s",
    cn: "请求过多：请在 {retry_after_s} 秒后重试",
  },
  PARTIAL_FAILURE: {
    scode: 2001,
    http: 207,
    en: "{failed} of {total} nodes failed: {nodes}",
    cn: "{total} 个节点中有 {failed} 个失败：{nodes}",
  },
  ALL_NODES_FAILED: {
    scode: 2002,
    http: 503,
    en: "All {total} nodes failed: {nodes}",
    cn: "全部 {total} 个节点失败：{nodes}",
  },
  SYNC_INCOMPLETE: {
    scode: 2003,
    http: 207,
    en: "Clock sync incomplete on {failed} of {total} nodes: {nodes}",
    cn: "{total} 个节点中有 {failed} 个未完成时钟同步：{nodes}",
  },
  CHRONY_UNAVAILABLE: {
    scode: 3001,
    http: 503,
    en: "chrony unavailable: {why}",
    cn: "chrony 不可用：{why}",
  },
  CHRONY_REJECTED: {
    scode: 3002,
    http: 500,
    en: "chronyd rejected the new configuration and it was rolled back: {why}",
    cn: "chronyd 拒绝了新配置，已回滚：{why}",
  },
  HOST_OPERATION_FAILED: {
    scode: 3003,
    http: 500,
    en: "Host operation {op} failed: {why}",
    cn: "主机操作 {op} 失败：{why}",
  },
  INTERNAL: {
    scode: 5000,
    http: 500,
    en: "Internal error: see the controller log, request {request_id}",
    cn: "内部错误：请查看控制器日志，请求 {request_id}",
  },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

export type ErrorParams = Record<string, string | number | boolean | null>;

export class TimeplaneError extends Error {
  readonly code: ErrorCode;
  readonly params: ErrorParams;
  /** Extra payload for the envelope's data, such as per-node outcomes. */
  readonly data: unknown;

  constructor(code: ErrorCode, params: ErrorParams = {}, data: unknown = {}) {
    super(render(ERRORS[code].en, params));
    this.name = "TimeplaneError";
    this.code = code;
    this.params = params;
    this.data = data;
  }

  get scode(): number {
    return ERRORS[this.code].scode;
  }

  get http(): number {
    return ERRORS[this.code].http;
  }

  get messageCn(): string {
    return render(ERRORS[this.code].cn, this.params);
  }
}

/** Shortcut for the most common error: a field with a bad value. */
export function invalid(
  field: string,
  value: unknown,
  why: string,
): TimeplaneError {
  return new TimeplaneError("INVALID_FIELD", {
    field,
    value: quote(value),
    why,
  });
}

/** Quotes a user value for a message: JSON, shortened, control chars escaped. */
export function quote(value: unknown): string {
  const text = printable(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** JSON where it can be; never throws, even on a value nested too deep. */
function printable(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    if (Array.isArray(value)) return "[...]";
    if (value !== null && typeof value === "object") return "{...}";
    return "(unprintable)";
  }
}

export function render(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const v = params[key];
    return v === undefined || v === null ? whole : String(v);
  });
}

/**
 * Replaces absolute file paths in a message from a node by their last
 * component, so host paths never reach API clients: "chronyd not found:
 * /usr/sbin/chronyd" becomes "chronyd not found: chronyd". The full text
 * stays in the agent's log.
 */
export function redactPaths(text: string): string {
  return text.replace(
    /(^|[\s"'(=:])\/(?:[\w.@+-]+\/)+([\w.@+-]+)/g,
    (_m, lead: string, last: string) => `${lead}${last}`,
  );
}
