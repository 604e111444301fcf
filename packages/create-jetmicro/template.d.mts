/** Versions the generated project pins (equal to jetmicro's own package.json). */
export declare const toolVersions: Readonly<Record<"@bufbuild/buf" | "@bufbuild/protobuf" | "@bufbuild/protoc-gen-es" | "@types/bun" | "bun" | "typescript", string>>;
/** What is wrong with a project name, or undefined when it is fine. */
export declare function projectNameProblem(name: string): string | undefined;
/** Path (relative to the project root) → contents of a new project depending on `jetmicro` (a version spec). */
export declare function projectFiles(options: { name: string; jetmicro: string }): Record<string, string>;
