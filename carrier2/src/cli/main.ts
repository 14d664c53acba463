/** The `carrier2` command: parse flags, load and validate the configuration, run the supervisor and the admin API. */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { AdminAuth } from "../admin/auth.ts";
import { ConfigStore, type Snapshot } from "../admin/config-store.ts";
import { AdminError } from "../admin/errors.ts";
import type { AdminServer } from "../admin/server.ts";
import { readStateFile } from "../admin/state-file.ts";
import { formatIssues, loadConfigFile, type ValidationResult, validateConfig } from "../config/index.ts";
import { log } from "../observability/log.ts";

const DEFAULT_ADMIN = "127.0.0.1:9901";

const USAGE = `Usage: carrier2 [-c FILE] [options]

Routes each request of a shared service to the developer bridge whose rules match it, or to the
cluster upstream. Configuration: Gefyra Carrier2 YAML (JSON is accepted).

Options:
  -c, --conf FILE          configuration file; without it (and no state file) Carrier2 starts in
                           idle mode and waits for PUT /v1/config
  -t, --test               validate the configuration file and exit (0 valid, 1 invalid)
  -u, --upgrade            accepted for Gefyra compatibility (graceful upgrade); ignored
      --admin HOST:PORT    admin API address (default ${DEFAULT_ADMIN}, skipped with an error log
                           when taken; port 0 picks one; "off" disables it); a non-loopback
                           address needs a token
      --admin-token-file PATH
                           bearer token for the admin API, re-read when the file changes
      --metrics-auth       require the token on GET /metrics too
      --state-file PATH    keep the last applied configuration here (written atomically) and
                           prefer it over -c at start
  -h, --help               print this help and exit
  -V, --version            print the version and exit

Signals: SIGHUP re-reads -c (validated; an invalid file keeps the running config),
         SIGTERM/SIGINT drain in-flight requests and exit.
Environment: CARRIER2_LOG_LEVEL (debug|info|warn|error, default info),
             CARRIER2_ADMIN_TOKEN (admin API bearer token; or --admin-token-file).
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function fail(message: string, code: number): never {
  process.stderr.write(`carrier2: ${message}\n`);
  process.exit(code);
}

async function load(file: string): Promise<ValidationResult & { ok: true }> {
  const result = await loadConfigFile(file);
  if (!result.ok) {
    log.error({ file, issues: result.issues }, "invalid configuration");
    fail(`invalid configuration ${file}:\n${formatIssues(result.issues)}`, 1);
  }
  for (const w of result.warnings) log.warn({ file, path: w.path }, w.message);
  return result;
}

/** `HOST:PORT` (`[::1]:9901` for IPv6). */
function parseAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) fail(`--admin ${value}: expected HOST:PORT (e.g. ${DEFAULT_ADMIN}, [::1]:9901, 0.0.0.0:9901)`, 2);
  return { host: (m[1] ?? m[2])!, port };
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  const h = host.toLowerCase();
  return h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h);
}

function adminAuth(tokenFile: string | undefined): AdminAuth {
  const envToken = process.env.CARRIER2_ADMIN_TOKEN;
  if (envToken !== undefined && envToken !== "" && tokenFile) fail("give the admin token either in CARRIER2_ADMIN_TOKEN or with --admin-token-file, not both", 2);
  try {
    if (tokenFile) return AdminAuth.fromFile(tokenFile);
    if (envToken) return AdminAuth.fromToken(envToken);
  } catch (err) {
    fail(`admin token: ${(err as Error).message}`, 2);
  }
  return AdminAuth.none();
}

/** The configuration to start with: the state file's (when valid), else -c, else none (idle). */
async function initialConfig(file: string | undefined, stateFile: string | undefined): Promise<{ result: ValidationResult & { ok: true }; generation?: number; source: "state-file" | "startup"; from: string } | undefined> {
  if (stateFile) {
    try {
      const saved = await readStateFile(stateFile);
      if (saved) {
        const result = validateConfig(saved.config);
        if (result.ok) return { result, generation: saved.generation, source: "state-file", from: stateFile };
        log.error({ stateFile, issues: result.issues }, "state file holds an invalid configuration; ignoring it");
      }
    } catch (err) {
      log.error({ stateFile, err: (err as Error).message }, "state file unusable; ignoring it");
    }
  }
  if (file) return { result: await load(file), source: "startup", from: file };
  return undefined;
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      options: {
        conf: { type: "string", short: "c" },
        config: { type: "string" },
        test: { type: "boolean", short: "t" },
        upgrade: { type: "boolean", short: "u" },
        admin: { type: "string" },
        "admin-token-file": { type: "string" },
        "metrics-auth": { type: "boolean" },
        "state-file": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
      strict: true,
      allowPositionals: false,
    });
  }
  try {
    args = parse();
  } catch (err) {
    fail(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
  const { values } = args;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.version) {
    process.stdout.write(`carrier2 ${version()}\n`);
    return;
  }
  const file = values.conf ?? values.config;
  if (values.test) {
    if (!file) fail("--test needs -c FILE", 2);
    await load(file);
    process.stdout.write(`carrier2: configuration ${file} is valid\n`);
    return;
  }

  const adminValue = values.admin ?? DEFAULT_ADMIN;
  const adminAddress = adminValue === "off" ? undefined : parseAddress(adminValue);
  const auth = adminAuth(values["admin-token-file"]);
  if (adminAddress && !auth.required && !isLoopback(adminAddress.host)) {
    fail(`refusing to serve the admin API on ${adminValue} without a token: whoever can change routes can read every developer's traffic. Set CARRIER2_ADMIN_TOKEN or --admin-token-file, or bind a loopback address (${DEFAULT_ADMIN}).`, 2);
  }
  const stateFile = values["state-file"];
  const store = new ConfigStore({ stateFile });

  // The initial configuration is queued first, so admin requests arriving during start-up wait for it.
  const initial = await initialConfig(file, stateFile);
  const applying = initial
    ? store.change(() => initial.result, { source: initial.source, ...(initial.generation ? { generation: initial.generation } : {}) })
    : undefined;
  applying?.catch(() => {}); // handled below, after the admin API is up

  let admin: AdminServer | undefined;
  if (adminAddress) {
    try {
      // Loaded only when needed: `--help` and `-t` stay fast.
      const { startAdmin } = await import("../admin/server.ts");
      admin = await startAdmin({ store, auth, metricsAuth: values["metrics-auth"] ?? false }, adminAddress.host, adminAddress.port);
      log.info({ address: admin.address, auth: auth.required ? "token" : "none (loopback only)" }, "admin API listening");
    } catch (err) {
      const message = `${(err as Error).message} (choose another with --admin HOST:PORT, or --admin off)`;
      // An address asked for must be served; the default is best effort (e.g. a second local instance).
      if (values.admin !== undefined) {
        await store.close();
        fail(message, 1);
      }
      log.error(`${message}; running without the admin API`);
    }
  }

  if (!initial || !applying) {
    log.info({ admin: admin?.address ?? null }, "Idle mode: no configuration given (-c FILE); not serving any port");
  } else {
    const { result, source, from } = initial;
    let applied: Snapshot;
    try {
      applied = await applying;
    } catch (err) {
      await admin?.close();
      await store.close();
      fail((err as Error).message, 1);
    }
    const { config } = result;
    log.info({ generation: applied.generation, ports: config.proxy.map((p) => p.port), probes: config.probes, threads: config.threads, [source === "state-file" ? "stateFile" : "file"]: from }, "serving");
  }
  // Keep the process alive in idle mode (nothing else holds the event loop).
  const keepAlive = setInterval(() => {}, 1 << 30);

  process.on("SIGHUP", () => {
    if (!file) return void log.warn("SIGHUP ignored: no configuration file (-c)");
    store.change(() => loadConfigFile(file), { source: "sighup" }).then(
      (applied) => {
        for (const w of applied.warnings) log.warn({ file, path: w.path }, w.message);
        log.info({ generation: applied.generation, file }, "reloaded");
      },
      (err: unknown) => {
        if (err instanceof AdminError && err.issues) log.error({ file, issues: err.issues }, "reload refused: invalid configuration; still serving the previous one");
        else log.error({ file, err: (err as Error).message }, "reload failed; still serving the previous configuration");
      },
    );
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const drainMs = store.snapshot.config?.timeouts.drainMs ?? 0;
    log.info({ signal, drainMs }, "shutting down");
    clearInterval(keepAlive);
    (admin ? admin.close() : Promise.resolve())
      .catch((err: unknown) => log.warn({ err }, "closing the admin API failed"))
      .then(() => store.close(drainMs))
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGQUIT", () => log.info("SIGQUIT ignored: configuration changes are applied live (SIGHUP or the admin API)"));
}

process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection (bug)"));
await main();
