/**
 * A generic protobuf wire-format reader for tests: a message as its fields by number, each a
 * list of raw values (varints and fixed64 as bigint, length-delimited as bytes), so an encoder
 * written by hand can be checked field by field against the `.proto` it follows.
 * @module
 */

/** One message's fields: field number → values in order. */
export type Fields = Map<number, Array<bigint | Uint8Array>>;

/** Reads every field of `bytes`; throws on malformed input. */
export function readFields(bytes: Uint8Array): Fields {
  const fields: Fields = new Map();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= bytes.length) throw new Error("truncated varint");
      const b = bytes[at++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const field = key >> 3;
    let value: bigint | Uint8Array;
    switch (key & 7) {
      case 0:
        value = varint();
        break;
      case 1:
        value = view.getBigUint64(at, true);
        at += 8;
        break;
      case 2: {
        const length = Number(varint());
        if (at + length > bytes.length) throw new Error("truncated field");
        value = bytes.subarray(at, at + length);
        at += length;
        break;
      }
      case 5:
        value = BigInt(view.getUint32(at, true));
        at += 4;
        break;
      default:
        throw new Error(`unknown wire type ${key & 7}`);
    }
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}

/** The single value of `field`, which must be length-delimited. */
export function bytesOf(fields: Fields, field: number): Uint8Array {
  const value = fields.get(field)?.[0];
  if (!(value instanceof Uint8Array)) throw new Error(`field ${field} is not bytes`);
  return value;
}

/** The single numeric value of `field` (varint or fixed). */
export function numberOf(fields: Fields, field: number): bigint | undefined {
  const value = fields.get(field)?.[0];
  return typeof value === "bigint" ? value : undefined;
}

/** `field`'s text. */
export function textOf(fields: Fields, field: number): string | undefined {
  const value = fields.get(field)?.[0];
  return value instanceof Uint8Array ? new TextDecoder().decode(value) : undefined;
}

/** Lowercase hex of bytes. */
export function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
