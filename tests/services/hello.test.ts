import { describe, expect, it } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Hello } from "../../gen/hello/v1/hello_pb.ts";
import { RequestSchema } from "../../gen/micro/api/v1/api_pb.ts";
import { createClient, createMemoryTransport } from "../../runtime/mod.ts";
import hello from "../../services/hello.ts";

// An API service is tested like any other: build the api Request the gateway would send.
const client = createClient(Hello, createMemoryTransport([hello]), { type: "api" });
const pair = (key: string, ...values: string[]) => ({ [key]: { key, values } });

describe("hello (an API service)", () => {
  it("greets the name from the query, a form field or a JSON body", async () => {
    for (const request of [
      { method: "GET", get: pair("name", "Ada") },
      { method: "POST", post: pair("name", "Ada") },
      { method: "POST", body: '{"name":"Ada"}' },
    ]) {
      const reply = await client.call(create(RequestSchema, request));
      expect([reply.statusCode, JSON.parse(reply.body), reply.header["x-hello"]?.values]).toEqual([200, { message: "Hello Ada" }, ["Ada"]]);
    }
  });

  it("answers 400 without a name, and invalid_argument for a body that is not JSON", async () => {
    const reply = await client.call(create(RequestSchema, { method: "GET" }));
    expect(reply.statusCode).toBe(400);
    await expect(client.call(create(RequestSchema, { method: "POST", body: "name=" }))).rejects.toThrow("the body is not JSON");
  });
});
