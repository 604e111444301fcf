/**
 * Protobuf binary encoding of small flat messages through one reused writer.
 *
 * `toBinary` makes a new `BinaryWriter` per call, which allocates a fresh 128-byte buffer on
 * its first write and copies the result out of it: on Node the two typed-array allocations
 * are about a third of the server's own CPU per call for a one-string reply (profiled in
 * issue 18). Messages whose fields are all proto3 scalars of 32 bits or less, strings or
 * enums (implicit presence, no oneof: the shape of most requests and replies) are written here
 * into one module-wide writer, which is safe because encoding is synchronous; the result is
 * still a copy, since NATS keeps the bytes until it flushes. Everything else — and any
 * message this writer cannot encode — goes to `toBinary`, so the bytes and the errors are
 * protobuf-es's own (`tests/runtime/codec/flat-binary.test.ts` compares them).
 * @module
 */
import { type DescField, type DescMessage, type MessageShape, ScalarType, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** proto3's implicit field presence (`google.protobuf.FeatureSet.FieldPresence.IMPLICIT`). */
const implicitPresence = 2;

type FieldWriter = (writer: BinaryWriter, message: Record<string, unknown>) => void;

let shared: BinaryWriter | undefined = new BinaryWriter();
/** Per schema: its field writers in field-number order, or null when `toBinary` must do it. */
const plans = new WeakMap<DescMessage, readonly FieldWriter[] | null>();

/** The protobuf binary encoding of `message`: the same bytes as `toBinary(schema, message)`. */
export function encodeBinary<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  let plan = plans.get(schema);
  if (plan === undefined) {
    plan = planOf(schema);
    plans.set(schema, plan);
  }
  const record = message as unknown as Record<string, unknown>;
  if (plan === null || record.$typeName !== schema.typeName || record.$unknown !== undefined) return toBinary(schema, message);
  // Taken out while in use: a field getter that encodes another message (re-entrant) gets a
  // writer of its own instead of finishing this one's half-written bytes.
  const writer = shared ?? new BinaryWriter();
  shared = undefined;
  let bytes: Uint8Array;
  try {
    for (let i = 0; i < plan.length; i++) plan[i]!(writer, record);
    bytes = writer.finish();
  } catch {
    // A value of the wrong type: the half-written writer is dropped; protobuf-es says why.
    return toBinary(schema, message);
  }
  // The writer keeps the largest buffer it ever grew to: after a big message, start afresh
  // rather than hold it for the life of the process.
  if (bytes.byteLength <= keptWriterBytes) shared = writer;
  return bytes;
}

/** Results up to this size leave the shared writer for the next encoding; bigger ones drop it. */
const keptWriterBytes = 64 * 1024;

function planOf(schema: DescMessage): readonly FieldWriter[] | null {
  const writers: FieldWriter[] = [];
  for (const field of [...schema.fields].sort((a, b) => a.number - b.number)) {
    const write = fieldWriter(field);
    if (write === undefined) return null;
    writers.push(write);
  }
  return writers;
}

/** The writer of one field, mirroring protobuf-es's for implicit presence; undefined for any other kind. */
function fieldWriter(field: DescField): FieldWriter | undefined {
  if (field.oneof !== undefined || field.presence !== implicitPresence) return undefined;
  const name = field.localName;
  const no = field.number;
  if (field.fieldKind === "enum") {
    const zero = field.enum.values[0]!.number;
    return (w, m) => {
      const value = m[name];
      if (value !== zero) w.tag(no, WireType.Varint).int32(value as number);
    };
  }
  if (field.fieldKind !== "scalar") return undefined;
  switch (field.scalar) {
    case ScalarType.STRING:
      return (w, m) => {
        const value = m[name];
        if (value !== "") w.tag(no, WireType.LengthDelimited).string(value as string);
      };
    case ScalarType.BOOL:
      return (w, m) => {
        const value = m[name];
        if (value !== false) w.tag(no, WireType.Varint).bool(value as boolean);
      };
    case ScalarType.INT32:
      return (w, m) => {
        const value = m[name];
        if (value != 0) w.tag(no, WireType.Varint).int32(value as number);
      };
    case ScalarType.UINT32:
      return (w, m) => {
        const value = m[name];
        if (value != 0) w.tag(no, WireType.Varint).uint32(value as number);
      };
    case ScalarType.SINT32:
      return (w, m) => {
        const value = m[name];
        if (value != 0) w.tag(no, WireType.Varint).sint32(value as number);
      };
    default:
      return undefined;
  }
}
