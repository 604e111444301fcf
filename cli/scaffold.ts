/**
 * The files `micro new <name>` writes: a proto, a handler module and a passing test, laid out
 * as this repository lays out greeter and audit.
 * @module
 */
import { MicroError } from "../runtime/errors/micro-error.ts";

/** Lowercase letters and digits, starting with a letter: a proto package, a file and a service name at once. */
export function assertNewServiceName(name: string): void {
  if (!/^[a-z][a-z0-9]{0,39}$/.test(name)) {
    throw new MicroError("invalid_argument", `service name "${name}" must be lowercase letters and digits, starting with a letter (e.g. inventory)`, { detail: "name" });
  }
}

/** `inventory` → `Inventory`. */
export const pascal = (name: string) => name[0]!.toUpperCase() + name.slice(1);

/** Path → contents of the scaffold of `name`, relative to the project root. */
export function scaffoldFiles(name: string): Record<string, string> {
  const Svc = pascal(name);
  return {
    [`proto/${name}/v1/${name}.proto`]: `syntax = "proto3";

package ${name}.v1;

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
    [`services/${name}.ts`]: `import { ${Svc} } from "../gen/${name}/v1/${name}_pb.ts";
import { defineService, MicroError } from "../runtime/mod.ts";

/** The ${name} service (scaffolded by \`micro new ${name}\`). */
export default defineService(${Svc}, { version: "1.0.0" }, {
  async get(request) {
    if (request.id.trim() === "") throw new MicroError("invalid_argument", "id must not be empty", { detail: "id" });
    return { id: request.id, description: \`${name} item \${request.id}\` };
  },
});
`,
    [`tests/services/${name}.test.ts`]: `import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { ${Svc} } from "../../gen/${name}/v1/${name}_pb.ts";
import { connectClient, MicroError, type MicroConnection, type ServiceInstance, startService } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import ${name} from "../../services/${name}.ts";
import { startTestNats } from "../support/nats.ts";

let nats: NatsServerProcess;
let micro: MicroConnection;
let instance: ServiceInstance;

beforeAll(async () => {
  nats = await startTestNats();
  micro = await connectClient({ servers: nats.url });
  instance = await startService(${name}, { connection: micro.nc, transport: micro.transport });
});
afterAll(async () => {
  await instance.stop();
  await micro.close();
  await nats.stop();
});

describe("${name} service", () => {
  it("returns the item asked for", async () => {
    const reply = await micro.client(${Svc}).get({ id: "42" });
    expect(reply.id).toBe("42");
    expect(reply.description).toBe("${name} item 42");
  });

  it("refuses an empty id as invalid_argument", async () => {
    const error = await micro.client(${Svc}).get({ id: "" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MicroError);
    expect((error as MicroError).code).toBe("invalid_argument");
  });
});
`,
  };
}
