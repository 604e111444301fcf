import { afterEach, describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { defineService } from "../../../runtime/mod.ts";
import { maxNodesPerService, maxServiceRecordBytes, RecordTable } from "../../../runtime/registry/record-table.ts";
import { recordKey, serviceRecord } from "../../../runtime/registry/records.ts";
import type { ServiceRecord } from "../../../runtime/registry/types.ts";

const greeter = defineService(Greeter, { version: "1.0.0" }, { sayHello: () => ({ message: "" }) });
const orders = defineService(Greeter, { name: "orders", version: "1.0.0" }, { sayHello: () => ({ message: "" }) });
const node = (definition: typeof greeter, id: string): ServiceRecord => serviceRecord(definition, { id, address: "", namespace: "micro" }, 60_000);

let table: RecordTable;
afterEach(() => table.close());

describe("record table bounds", () => {
  it("keeps at most maxNodesPerService nodes of one service, and takes new ones as others leave", () => {
    table = new RecordTable();
    for (let i = 0; i < maxNodesPerService; i++) expect(table.put(node(greeter, `greeter-n${i}`))).toBe(true);
    expect(table.put(node(greeter, "greeter-extra"))).toBe(false);
    // A known node is still refreshed, and other services are not affected.
    expect(table.put(node(greeter, "greeter-n0"))).toBe(true);
    expect(table.put(node(orders, "orders-a"))).toBe(true);
    table.delete(recordKey(node(greeter, "greeter-n1")));
    expect(table.put(node(greeter, "greeter-extra"))).toBe(true);
    expect(table.services((r) => r.name === "greeter")[0]!.nodes.length).toBe(maxNodesPerService);
  });

  it("keeps at most maxServiceRecordBytes of one service's records, counting a refreshed record's new size", () => {
    table = new RecordTable();
    const size = maxServiceRecordBytes / 4;
    for (let i = 0; i < 4; i++) expect(table.put(node(greeter, `greeter-n${i}`), size)).toBe(true);
    expect(table.put(node(greeter, "greeter-n4"), 1)).toBe(false);
    // Refreshed smaller, it makes room; larger than its bound, it is refused and kept as it was.
    expect(table.put(node(greeter, "greeter-n0"), size - 10)).toBe(true);
    expect(table.put(node(greeter, "greeter-n4"), 10)).toBe(true);
    expect(table.put(node(greeter, "greeter-n1"), size + 1)).toBe(false);
    expect(table.services()[0]!.nodes.map((n) => n.id).sort()).toEqual(["greeter-n0", "greeter-n1", "greeter-n2", "greeter-n3", "greeter-n4"]);
  });

  it("gives an expired node's room back", () => {
    table = new RecordTable();
    for (let i = 0; i < maxNodesPerService; i++) table.put(node(greeter, `greeter-n${i}`));
    table.sweep(Date.now() + 61_000);
    expect(table.put(node(greeter, "greeter-extra"))).toBe(true);
  });
});
