/**
 * A real Kubernetes control plane for tests, as controller-runtime's envtest: etcd and kube-apiserver
 * (built by setup.sh) on free loopback ports, with a throwaway CA, serving cert, service-account key
 * pair and an admin client certificate (group system:masters) generated into a temp dir. RBAC is
 * on; there is no kubelet, scheduler or controller-manager: nothing runs pods, finishes namespace
 * deletion or garbage-collects (see kubelet.ts for playing the kubelet).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createCa, generateKey, LOOPBACK_SERVER, writePublicKey } from "./pki.ts";

export interface EnvTest {
  /** Kubeconfig (YAML) of the admin user. */
  kubeconfig: string;
  kubeconfigPath: string;
  server: string;
  stop(): Promise<void>;
}

const SETUP = new URL("./setup.sh", import.meta.url).pathname;

/** The directory holding etcd and kube-apiserver: $CARRIER2_ENVTEST_BIN, or what setup.sh built
 * (instant when cached; a cold build takes many minutes and prints its progress). */
export function envTestBinaries(): string {
  const fromEnv = process.env["CARRIER2_ENVTEST_BIN"];
  if (fromEnv) return fromEnv;
  const out = execFileSync("bash", [SETUP], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return out.trim().split("\n").at(-1)!;
}

export async function startEnvTest(options: { readyTimeoutMs?: number } = {}): Promise<EnvTest> {
  const bin = envTestBinaries();
  const dir = mkdtempSync(join(tmpdir(), "carrier2-envtest-"));
  const processes: ChildProcess[] = [];
  const stop = async () => {
    for (const child of processes.reverse()) await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const certs = generateCerts(join(dir, "pki"));
    const [etcdClient, etcdPeer, apiPort] = await freePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    processes.push(
      launch(dir, "etcd", join(bin, "etcd"), [
        "--name=envtest",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=envtest=${peerUrl}`,
        "--unsafe-no-fsync",
        "--log-level=warn",
      ]),
    );
    processes.push(
      launch(dir, "kube-apiserver", join(bin, "kube-apiserver"), [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, "pki")}`,
        `--tls-cert-file=${certs.serverCert}`,
        `--tls-private-key-file=${certs.serverKey}`,
        `--client-ca-file=${certs.caCert}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${certs.saPublic}`,
        `--service-account-signing-key-file=${certs.saPrivate}`,
        "--service-cluster-ip-range=10.96.0.0/16",
        "--authorization-mode=RBAC",
        // Nothing creates the `default` ServiceAccount in new namespaces without controllers.
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
      ]),
    );
    const server = `https://127.0.0.1:${apiPort}`;
    await waitReady(server, certs, processes, dir, options.readyTimeoutMs ?? 120_000);
    const kubeconfig = kubeconfigYaml(server, certs);
    const kubeconfigPath = join(dir, "kubeconfig");
    writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
    return { kubeconfig, kubeconfigPath, server, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Certs {
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saPrivate: string;
  saPublic: string;
}

function generateCerts(dir: string): Certs {
  const ca = createCa(dir, "carrier2-envtest-ca");
  const server = ca.sign("apiserver", "/CN=kube-apiserver", LOOPBACK_SERVER);
  const admin = ca.sign("admin", "/O=system:masters/CN=envtest-admin", "extendedKeyUsage=clientAuth\n");
  const saPrivate = join(dir, "sa.key");
  const saPublic = join(dir, "sa.pub");
  generateKey(saPrivate);
  writePublicKey(saPrivate, saPublic);
  return {
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    saPrivate,
    saPublic,
  };
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer();
      return new Promise<typeof server>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(server));
      });
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function launch(dir: string, name: string, binary: string, args: string[]): ChildProcess {
  const log = createWriteStream(join(dir, `${name}.log`));
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(kill);
}

async function waitReady(server: string, certs: Certs, processes: ChildProcess[], dir: string, timeoutMs: number) {
  const tls = { ca: readFileSync(certs.caCert), cert: readFileSync(certs.adminCert), key: readFileSync(certs.adminKey) };
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const dead = processes.find((p) => p.exitCode !== null);
    if (dead) throw new Error(`${dead.spawnfile} exited with ${dead.exitCode}\n${logTails(dir)}`);
    last = await new Promise<string>((resolve) => {
      const req = request(`${server}/readyz`, { ...tls, timeout: 5_000 }, (res) => {
        res.resume();
        resolve(String(res.statusCode));
      });
      req.on("error", (err) => resolve(err.message));
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.end();
    });
    if (last === "200") return;
    await sleep(250);
  }
  throw new Error(`kube-apiserver not ready after ${timeoutMs} ms (last: ${last})\n${logTails(dir)}`);
}

function logTails(dir: string): string {
  return ["etcd", "kube-apiserver"]
    .map((name) => {
      try {
        return `--- ${name}.log (tail)\n${readFileSync(join(dir, `${name}.log`), "utf8").split("\n").slice(-30).join("\n")}`;
      } catch {
        return `--- ${name}.log missing`;
      }
    })
    .join("\n");
}

function kubeconfigYaml(server: string, certs: Certs): string {
  const b64 = (file: string) => readFileSync(file).toString("base64");
  return `apiVersion: v1
kind: Config
clusters:
  - name: envtest
    cluster:
      server: ${server}
      certificate-authority-data: ${b64(certs.caCert)}
users:
  - name: envtest-admin
    user:
      client-certificate-data: ${b64(certs.adminCert)}
      client-key-data: ${b64(certs.adminKey)}
contexts:
  - name: envtest
    context: { cluster: envtest, user: envtest-admin }
current-context: envtest
`;
}
