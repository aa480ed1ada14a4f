/**
 * The seed's response envelope, on every response, success or failure:
 * {scode, desc, message, message_cn, stack, data}.
 */
import { TimeplaneError } from "../errors.ts";

export interface Envelope<T = unknown> {
  scode: number;
  desc: string;
  message: string;
  message_cn: string;
  stack: string | null;
  data: T;
}

export function success<T>(data: T): Envelope<T> {
  return {
    scode: 0,
    desc: "",
    message: "success",
    message_cn: "成功",
    stack: null,
    data,
  };
}

export function failure(err: TimeplaneError, debug: boolean): Envelope {
  return {
    scode: err.scode,
    desc: err.code,
    message: err.message,
    message_cn: err.messageCn,
    stack: debug ? (err.stack ?? null) : null,
    data: err.data ?? {},
  };
}

export function isTimeplaneError(err: unknown): err is TimeplaneError {
  return err instanceof TimeplaneError;
}
