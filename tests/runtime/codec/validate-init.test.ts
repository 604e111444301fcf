import { describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { validateInit } from "../../../runtime/codec/validate-init.ts";
import { MicroError } from "../../../runtime/errors/micro-error.ts";

const input = Greeter.method.sayHello.input;

function failure(init: unknown): MicroError {
  try {
    validateInit(input, init);
  } catch (error) {
    return error as MicroError;
  }
  throw new Error("expected validateInit to throw");
}

describe("validateInit", () => {
  it("accepts a well-formed init object, every time (the field table is built once per type)", () => {
    for (let i = 0; i < 3; i++) expect(() => validateInit(input, { name: "Ada" })).not.toThrow();
  });

  it("refuses an unknown key as invalid_argument naming it and the known fields", () => {
    for (let i = 0; i < 2; i++) {
      const error = failure({ nmae: "Ada" });
      expect(error.code).toBe("invalid_argument");
      expect(error.detail).toBe("nmae");
      expect(error.message).toContain("fields: name");
    }
  });

  it("refuses a value of the wrong type, and ignores inherited keys", () => {
    expect(failure({ name: 42 }).message).toContain("name must be a string");
    const inherited = Object.create({ bogus: 1 }) as Record<string, unknown>;
    inherited.name = "Ada";
    expect(() => validateInit(input, inherited)).not.toThrow();
  });
});
