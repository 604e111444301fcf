import { describe, expect, it } from "bun:test";
import { codes, isCode } from "../../../runtime/errors/code.ts";
import { codeFromHttpStatus, httpStatus } from "../../../runtime/protocol/mod.ts";
import { MicroError } from "../../../runtime/errors/micro-error.ts";

describe("error codes", () => {
  it("maps every code to an HTTP status and back to itself where the status is unique", () => {
    expect(codes).toHaveLength(16);
    expect(httpStatus("invalid_argument")).toBe(400);
    expect(httpStatus("unauthenticated")).toBe(401);
    expect(httpStatus("permission_denied")).toBe(403);
    expect(httpStatus("not_found")).toBe(404);
    expect(httpStatus("resource_exhausted")).toBe(429);
    expect(httpStatus("deadline_exceeded")).toBe(504);
    expect(httpStatus("internal")).toBe(500);
    for (const code of ["invalid_argument", "unauthenticated", "permission_denied", "not_found", "resource_exhausted", "unimplemented", "unavailable", "deadline_exceeded"] as const) {
      expect(codeFromHttpStatus(httpStatus(code))).toBe(code);
    }
  });

  it("reads statuses from services in other languages sensibly", () => {
    expect(codeFromHttpStatus(418)).toBe("invalid_argument");
    expect(codeFromHttpStatus(502)).toBe("internal");
    expect(isCode("internal")).toBe(true);
    expect(isCode("INTERNAL")).toBe(false);
  });
});

describe("MicroError.from", () => {
  it("returns a MicroError unchanged", () => {
    const e = new MicroError("not_found", "no user 7");
    expect(MicroError.from(e)).toBe(e);
  });

  it("turns a plain Error into internal with its message, keeping the cause locally", () => {
    const cause = new TypeError("x is undefined");
    const e = MicroError.from(cause);
    expect(e.code).toBe("internal");
    expect(e.message).toBe("x is undefined");
    expect(e.cause).toBe(cause);
    expect(JSON.stringify(e)).not.toContain("stack");
  });

  it("keeps the code of a MicroError from another copy of the module", () => {
    const foreign = Object.assign(new Error("no such cart"), { name: "MicroError", code: "not_found", detail: "cart_id" });
    expect(MicroError.is(foreign)).toBe(true);
    expect(MicroError.from(foreign).toJSON()).toEqual({ code: "not_found", message: "no such cart", detail: "cart_id" });
    expect(MicroError.is(Object.assign(new Error("x"), { name: "MicroError", code: "nope" }))).toBe(false);
  });

  it("turns aborts into canceled and timeouts into deadline_exceeded", () => {
    expect(MicroError.from(new DOMException("stop", "AbortError")).code).toBe("canceled");
    const timeout = new Error("late");
    timeout.name = "TimeoutError";
    expect(MicroError.from(timeout).code).toBe("deadline_exceeded");
  });

  it("keeps the code of an error-shaped object and falls back for unknown codes", () => {
    expect(MicroError.from({ code: "already_exists", message: "dup", detail: "id" }).toJSON()).toEqual({
      code: "already_exists",
      message: "dup",
      detail: "id",
    });
    expect(MicroError.from({ code: "bogus", message: "m" }).code).toBe("internal");
    expect(MicroError.from("plain string", "unknown").toJSON()).toEqual({ code: "unknown", message: "plain string" });
  });
});
