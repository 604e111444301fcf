import { recordKey } from "./records.ts";
import { RecordTable } from "./record-table.ts";
import type { Registry } from "./types.ts";

/** A registry inside one process, for unit tests and single-process apps. */
export function createMemoryRegistry(): Registry {
  const table = new RecordTable();
  return {
    register: async (record) => void table.put(record),
    deregister: async (record) => table.delete(recordKey(record)),
    getService: async (name, namespace) => table.services((r) => r.name === name && (namespace === undefined || r.namespace === namespace)),
    listServices: async () => table.services(),
    watch: (signal) => table.watch(signal),
    close: async () => table.close(),
  };
}
