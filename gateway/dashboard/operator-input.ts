/**
 * The checks of what the dashboard's operator routes take: weights bodies, limits and
 * sequences. Every field is bounded, and a bad one is `invalid_argument` naming it (a 400),
 * never a 5xx.
 * @module
 */
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { shown } from "../../runtime/protocol/mod.ts";
import { isJsonMediaType, mediaType, unsupportedMediaTypeReason } from "../content-type.ts";
import { bodyText, parseJson } from "../json-body.ts";

/** Most versions one weights change names. */
export const maxWeightedVersions = 32;
/** Longest version name accepted in weights. */
export const maxVersionLength = 64;
/** Most dead letters one list returns. */
export const maxDeadLetterLimit = 1000;
/** Dead letters listed when the request says nothing. */
export const defaultDeadLetterLimit = 100;

const versionPattern = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function invalid(message: string, detail: string): MicroError {
  return new MicroError("invalid_argument", message, { detail });
}

/** A weights change: new weights, or undefined to clear them, and whether versions not running may get some. */
export interface WeightsChange {
  readonly weights: Readonly<Record<string, number>> | undefined;
  readonly force: boolean;
}

/**
 * Reads a write's JSON object body. The content type must be JSON even for an empty body:
 * a cross-site form cannot send it without a CORS preflight, so a hostile page cannot make an
 * operator's browser change weights or redrive (415 otherwise).
 */
export async function jsonObjectBody(request: Request, route: string): Promise<Record<string, unknown>> {
  const type = mediaType(request.headers.get("content-type"));
  if (!isJsonMediaType(type)) {
    throw new MicroError("invalid_argument", `${route} takes a JSON body: send Content-Type: application/json${type === "" ? "" : `, not "${shown(type)}"`}`, {
      detail: "content-type", metadata: { reason: unsupportedMediaTypeReason },
    });
  }
  const text = await bodyText(request);
  if (text.trim() === "") return {};
  const value = parseJson(text, "the body", 4);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("the body must be a JSON object", "body");
  return value as Record<string, unknown>;
}

/** `{"weights": {"1.0.0": 90, "2.0.0": 10} | null, "force"?: boolean}` checked. */
export function weightsChange(body: Record<string, unknown>): WeightsChange {
  for (const key of Object.keys(body)) {
    if (key !== "weights" && key !== "force") throw invalid(`unknown field "${shown(key)}": send {"weights": {"1.0.0": 100}} (or null to clear) and optionally "force"`, key);
  }
  const force = body.force ?? false;
  if (typeof force !== "boolean") throw invalid("force must be true or false", "force");
  if (!("weights" in body)) throw invalid(`weights is required: {"1.0.0": 90, "2.0.0": 10}, or null to clear them`, "weights");
  const raw = body.weights;
  if (raw === null) return { weights: undefined, force };
  if (typeof raw !== "object" || Array.isArray(raw)) throw invalid(`weights must be an object of version to weight, e.g. {"1.0.0": 90}, or null`, "weights");
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) throw invalid("weights names no version (send null to clear them)", "weights");
  if (entries.length > maxWeightedVersions) throw invalid(`weights names ${entries.length} versions; at most ${maxWeightedVersions}`, "weights");
  const weights: Record<string, number> = {};
  for (const [version, weight] of entries) {
    if (version.length > maxVersionLength) throw invalid(`version "${shown(version)}" is longer than ${maxVersionLength} characters`, "weights");
    if (!versionPattern.test(version)) throw invalid(`version "${shown(version)}" may hold letters, digits, ".", "_", "+" and "-" only`, "weights");
    if (typeof weight !== "number" || !Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw invalid(`weight of ${version} must be a whole number from 0 to 100, got ${shown(JSON.stringify(weight) ?? String(weight))}`, "weights");
    }
    weights[version] = weight;
  }
  if (Object.values(weights).every((w) => w === 0)) throw invalid("at least one version needs a weight above 0", "weights");
  return { weights, force };
}

/** `?limit=` of a dead-letter list: 1..{@link maxDeadLetterLimit}, default {@link defaultDeadLetterLimit}. */
export function deadLetterLimit(value: string | undefined): number {
  if (value === undefined || value === "") return defaultDeadLetterLimit;
  const n = /^[0-9]{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= maxDeadLetterLimit)) throw invalid(`limit must be a whole number from 1 to ${maxDeadLetterLimit}, got "${shown(value)}"`, "limit");
  return n;
}

/** A dead letter's sequence in the path: a whole number from 1. */
export function deadLetterSequence(value: string): number {
  const n = /^[0-9]{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1)) throw invalid(`the dead letter's sequence must be a whole number from 1, got "${shown(value)}"`, "sequence");
  return n;
}
