/**
 * The files `micro new <name>` writes: a proto, a handler module and a passing test, laid out
 * as this repository lays out greeter and audit.
 * @module
 */
import { MicroError } from "../runtime/errors/micro-error.ts";

/**
 * Kebab-case as the runtime names services (`inventory`, `user-profile`): lowercase words of
 * letters and digits joined by "-", starting with a letter, at most 40 characters.
 */
export function assertNewServiceName(name: string): void {
  if (name.length > 40 || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) {
    throw new MicroError(
      "invalid_argument",
      `service name "${name.slice(0, 60)}" must be lowercase letters and digits, words joined by "-", starting with a letter, at most 40 characters (e.g. inventory, user-profile)`,
      { detail: "name" },
    );
  }
  if (takenServiceNames.has(pascal(name))) {
    throw new MicroError("invalid_argument", `service name "${name}" would make the proto service ${pascal(name)}, a name the scaffold's own code already uses; pick another`, { detail: "name" });
  }
}

/**
 * Proto service names the scaffold cannot use: its messages (a clash `buf generate` refuses,
 * after the files are written, failing every later generate of the project) and their
 * generated schemas, the runtime's MicroError it imports beside the service, and the names
 * protoc-gen-es exports under another name (`Object$`), which the import would not find.
 */
const takenServiceNames = new Set(["GetRequest", "GetResponse", "GetRequestSchema", "GetResponseSchema", "MicroError", "Object", "Partial", "Uint8Array"]);

/** `user-profile` → `UserProfile`: the proto service, whose default jetmicro name is `user-profile` again. */
export const pascal = (name: string) => name.split("-").map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");

/** `user-profile` → `user_profile`: the proto package and file name (protobuf allows no "-"). */
export const snake = (name: string) => name.replace(/-/g, "_");

/** Where `buf generate` writes the code of `name`'s proto. */
export const generatedFile = (name: string) => `gen/${snake(name)}/v1/${snake(name)}_pb.ts`;

/** Path → contents of the scaffold of `name`, relative to the project root. */
export function scaffoldFiles(name: string): Record<string, string> {
  const Svc = pascal(name);
  const pkg = snake(name);
  return {
    [`proto/${pkg}/v1/${pkg}.proto`]: `syntax = "proto3";

package ${pkg}.v1;

// The ${name} service. Add methods here, run \`npm run gen\`, then implement them in services/${name}.ts.
service ${Svc} {
  // Returns the item with this id.
  rpc Get(GetRequest) returns (GetResponse);
}

message GetRequest {
  string id = 1;
}

message GetResponse {
  string id = 1;
  string description = 2;
}
`,
    [`services/${name}.ts`]: `import { ${Svc} } from "../${generatedFile(name)}";
import { defineService, MicroError } from "../runtime/mod.ts";

/** The ${name} service (scaffolded by \`micro new ${name}\`). */
export default defineService(${Svc}, { version: "1.0.0" }, {
  async get(request) {
    if (request.id.trim() === "") throw new MicroError("invalid_argument", "id must not be empty", { detail: "id" });
    return { id: request.id, description: \`${name} item \${request.id}\` };
  },
});
`,
    [`tests/services/${name}.test.ts`]: `import { describe, expect, it } from "bun:test";
import { ${Svc} } from "../../${generatedFile(name)}";
import { createClient, createMemoryTransport, MicroError } from "../../runtime/mod.ts";
import service from "../../services/${name}.ts";

// In memory: the handlers run through the real dispatch, with no NATS server to start.
const client = createClient(${Svc}, createMemoryTransport([service]));

describe("${name} service", () => {
  it("returns the item asked for", async () => {
    const reply = await client.get({ id: "42" });
    expect(reply.id).toBe("42");
    expect(reply.description).toBe("${name} item 42");
  });

  it("refuses an empty id as invalid_argument", async () => {
    const error = await client.get({ id: "" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MicroError);
    expect((error as MicroError).code).toBe("invalid_argument");
  });
});
`,
  };
}
