/** Versions the generated project pins (equal to jetmicro's own package.json). */
export declare const toolVersions: Readonly<Record<"@bufbuild/buf" | "@bufbuild/protobuf" | "@bufbuild/protoc-gen-es" | "@types/bun" | "bun" | "deno" | "typescript", string>>;
/** What is wrong with a project name, or undefined when it is fine. */
export declare function projectNameProblem(name: string): string | undefined;
/** Path (relative to the project root) → contents of a new project depending on `jetmicro` (a version spec). */
export declare function projectFiles(options: { name: string; jetmicro: string }): Record<string, string>;
/** Where the project's scripts/setup.mjs links node_modules/jetmicro for Deno (relative to the project). */
export declare const denoLink: string;
/** jsr.json's entry points, keyed by the specifier a project imports (`jetmicro`, `jetmicro/testing`, ...), as package-relative files. */
export declare const jsrExports: Readonly<Record<string, string>>;
