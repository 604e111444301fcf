import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NatsConnection, nkeys } from "@nats-io/nats-core";
import { ensureNatsServerBinary, type NatsServerProcess, startNatsServer } from "../../runtime/nats/mod.ts";

/** A temp folder for secrets and server configs; `remove()` deletes it. */
export function secretsDir(): { dir: string; file(name: string, text: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "jetmicro-secrets-"));
  return {
    dir,
    file(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Starts a nats-server (JetStream on, own temp store, free port) with `config` as its config
 * file: the `authorization`, `accounts` or `tls` blocks a test needs.
 */
export async function startSecuredNats(config: string, dir: string, jetstream = true): Promise<NatsServerProcess> {
  const path = join(dir, `server-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, config, { mode: 0o600 });
  return await startNatsServer({ binary: await ensureNatsServerBinary(), args: ["-c", path], jetstream });
}

/** Connection options for `user` of a test server config whose password is `{user}-pw`. */
export function asUser(server: NatsServerProcess, user: string): { servers: string; name: string } {
  return { servers: server.url.replace("nats://", `nats://${user}:${user}-pw@`), name: `perm-${user}` };
}

/** Keeps every error the server reports on `nc` (a permission violation does not close it) in `into`, each after `label`. */
export function collectViolations(nc: NatsConnection, into: string[], label = ""): void {
  void (async () => {
    for await (const status of nc.status()) if (status.type === "error") into.push(`${label}${String(status.error)}`);
  })();
}

/** PEM files of a test CA, a server certificate for 127.0.0.1 and a client certificate, made by `openssl`. */
export interface TestCertificates {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second CA that signed nothing here: trusting it alone must fail. */
  readonly otherCa: string;
}

/** Generates {@link TestCertificates} in `dir` (a few hundred ms: EC keys). */
export function makeCertificates(dir: string): TestCertificates {
  const at = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = (name: string) => ssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", at(name));
  const ca = (name: string) => {
    key(`${name}.key`);
    ssl("req", "-x509", "-new", "-key", at(`${name}.key`), "-subj", `/CN=${name}`, "-days", "2", "-out", at(`${name}.pem`));
  };
  ca("ca");
  ca("other-ca");
  const signed = (name: string, ext: string) => {
    key(`${name}.key`);
    ssl("req", "-new", "-key", at(`${name}.key`), "-subj", `/CN=${name}`, "-out", at(`${name}.csr`));
    writeFileSync(at(`${name}.ext`), ext);
    ssl("x509", "-req", "-in", at(`${name}.csr`), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", at(`${name}.ext`), "-out", at(`${name}.pem`));
  };
  signed("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  signed("client", "extendedKeyUsage=clientAuth\n");
  return {
    ca: at("ca.pem"),
    serverCert: at("server.pem"),
    serverKey: at("server.key"),
    clientCert: at("client.pem"),
    clientKey: at("client.key"),
    otherCa: at("other-ca.pem"),
  };
}

/**
 * A NATS operator set-up made without `nsc`: an operator, one account and `.creds` files of
 * users it signs, each a JWT signed with the issuer's NKey (alg `ed25519-nkey`), as `nsc`
 * writes them. `config` is the server's: the operator, and the account preloaded in a memory
 * resolver.
 */
export function makeOperatorSetup(dir: string): { config: string; creds(name: string, signedBy?: "account" | "stranger"): string } {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const stranger = nkeys.createAccount();
  const unlimited = { subs: -1, data: -1, payload: -1 };
  const operatorJwt = natsJwt(operator, operator.getPublicKey(), { type: "operator" });
  const accountJwt = natsJwt(operator, account.getPublicKey(), { type: "account", limits: { ...unlimited, conn: -1, leaf: -1, imports: -1, exports: -1, wildcards: true } });
  return {
    config: `operator: "${operatorJwt}"\nresolver: MEMORY\nresolver_preload: { ${account.getPublicKey()}: "${accountJwt}" }\n`,
    creds(name, signedBy = "account") {
      const user = nkeys.createUser();
      const userJwt = natsJwt(signedBy === "account" ? account : stranger, user.getPublicKey(), { type: "user", pub: {}, sub: {}, ...unlimited });
      const text = `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n` +
        `-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(user.getSeed())}\n------END USER NKEY SEED------\n`;
      const path = join(dir, `${name}.creds`);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    },
  };
}

function natsJwt(issuer: nkeys.KeyPair, subject: string, nats: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = part({ typ: "JWT", alg: "ed25519-nkey" });
  const body = part({ jti: randomUUID().replaceAll("-", "").toUpperCase(), iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name: subject.slice(0, 8), sub: subject, nats: { ...nats, version: 2 } });
  const signature = Buffer.from(issuer.sign(new TextEncoder().encode(`${head}.${body}`))).toString("base64url");
  return `${head}.${body}.${signature}`;
}
