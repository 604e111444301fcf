/**
 * The module graph's rules, checked by `tests/architecture.test.ts` (so `npm test` fails on a
 * violation) and by hand with `node_modules/.bin/depcruise runtime cli gateway services`.
 *
 * jetmicro is layered: a folder may import the folders below it and never one above it, so
 * neither modules nor folders can import each other in a circle. Bottom up:
 *
 *   errors → protocol → platform → config → nats → codec → broker → service → registry →
 *   selector → stream → client → server → actor → testing → runner → runtime/mod.ts →
 *   gateway → cli
 *
 * The issue's spine is protocol → client / server → actors → runner → gateway / CLI. The
 * pluggable concerns sit under client and server, as in go-micro: the client discovers
 * through the registry and the selector, the server publishes through the broker, and none of
 * the three calls a client or a server. `runtime/stream/` is the shared core of streams, so it
 * imports neither the client nor the server (their halves live in those folders). Imports of
 * types count too: a type-only cycle still ties two folders together.
 *
 * A new folder under `runtime/` must be given its place in `layers` below before anything
 * imports it or it imports anything.
 */

/** Bottom first. Each entry is a path prefix; a module may import only prefixes before its own. */
const layers = [
  "runtime/errors/",
  "runtime/protocol/",
  "runtime/platform/",
  "runtime/config/",
  "runtime/nats/",
  "runtime/codec/",
  "runtime/stream/",
  "runtime/broker/",
  "runtime/service/",
  "runtime/registry/",
  "runtime/selector/",
  "runtime/client/",
  "runtime/server/",
  "runtime/actor/",
  "runtime/testing/",
  "runtime/observability/",
  "runtime/runner/",
  "runtime/[^/]+$", // runtime/mod.ts: the public surface of the runtime
  "gateway/",
  "cli/",
];

/** Why a layer sits where it does, where the name alone does not say. */
const reasons = {
  "runtime/stream/": "it is the streams' shared core: their client and server halves import it, never the reverse",
  "runtime/service/": "a service definition is plain data the client, the server and the registry read",
  "runtime/server/": "actors are built on the server, so the server knows nothing of them",
  "runtime/[^/]+$": "the runtime's public surface; what starts the gateway or the CLI lives above both",
};

const escape = (prefix) => prefix.replace(/\//g, "\\/");
const name = (prefix) => prefix.replace(/^runtime\//, "").replace(/\/$/, "").replace("[^/]+$", "mod.ts");

/** One rule per layer: nothing in it imports a layer above it. */
const layerRules = layers.slice(0, -1).map((prefix, i) => ({
  name: `layer:${name(prefix)}`,
  severity: "error",
  comment: `${prefix} may import only ${layers.slice(0, i).map(name).join(", ") || "nothing of this repository"}${reasons[prefix] ? `: ${reasons[prefix]}` : ""} (layers in .dependency-cruiser.cjs)`,
  from: { path: `^${escape(prefix)}` },
  to: { path: `^(${layers.slice(i + 1).map(escape).join("|")})` },
}));

const placed = `^(${layers.filter((l) => l.startsWith("runtime/")).map(escape).join("|")})`;

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "modules that import each other in a circle: break it by moving the shared part down a layer",
      from: {},
      to: { circular: true },
    },
    {
      name: "runtime-below-gateway-and-cli",
      severity: "error",
      comment: "runtime/ is the library; what starts the gateway or the CLI lives above both (cli/)",
      from: { path: "^runtime/" },
      to: { path: "^(gateway|cli)/" },
    },
    {
      name: "protocol-is-the-core",
      severity: "error",
      comment: "runtime/protocol/ is the bottom of the runtime: it may import runtime/errors/ and nothing else of it",
      from: { path: "^runtime/protocol/" },
      to: { path: "^runtime/", pathNot: "^runtime/(protocol|errors)/" },
    },
    {
      name: "unplaced-runtime-folder",
      severity: "error",
      comment: "every folder of runtime/ has a place in the layering: add it to `layers` in .dependency-cruiser.cjs",
      from: { path: "^runtime/[^/]+/", pathNot: placed },
      to: {},
    },
    {
      name: "import-of-unplaced-runtime-folder",
      severity: "error",
      comment: "every folder of runtime/ has a place in the layering: add it to `layers` in .dependency-cruiser.cjs",
      from: {},
      to: { path: "^runtime/[^/]+/", pathNot: placed },
    },
    ...layerRules,
  ],
  options: {
    // Type-only imports count: they tie folders together as much as value imports do.
    tsPreCompilationDeps: true,
    doNotFollow: { path: ["node_modules", "^gen/"] },
    exclude: { path: ["^node_modules/", "^gen/"] },
    moduleSystems: ["es6", "cjs"],
    reporterOptions: {
      text: { highlightFocused: false },
    },
  },
};
