import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
