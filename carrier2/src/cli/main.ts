/** The `carrier2` command: parse flags, load and validate the configuration, run the supervisor. */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type Carrier2Config, formatIssues, loadConfigFile } from "../config/index.ts";
import { log } from "../observability/log.ts";
import { createSupervisor, type Supervisor } from "../runtime/supervisor.ts";

const USAGE = `Usage: carrier2 [-c FILE] [options]

Routes each request of a shared service to the developer bridge whose rules match it, or to the
cluster upstream. Configuration: Gefyra Carrier2 YAML (JSON is accepted).

Options:
  -c, --conf FILE    configuration file; without it Carrier2 starts in idle mode
  -t, --test         validate the configuration file and exit (0 valid, 1 invalid)
  -u, --upgrade      accepted for Gefyra compatibility (graceful upgrade); ignored
  -h, --help         print this help and exit
  -V, --version      print the version and exit

Signals: SIGHUP re-reads -c (validated; an invalid file keeps the running config),
         SIGTERM/SIGINT drain in-flight requests and exit.
Environment: CARRIER2_LOG_LEVEL (debug|info|warn|error, default info).
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function fail(message: string, code: number): never {
  process.stderr.write(`carrier2: ${message}\n`);
  process.exit(code);
}

async function load(file: string): Promise<Carrier2Config> {
  const result = await loadConfigFile(file);
  if (!result.ok) {
    log.error({ file, issues: result.issues }, "invalid configuration");
    fail(`invalid configuration ${file}:\n${formatIssues(result.issues)}`, 1);
  }
  for (const w of result.warnings) log.warn({ file, path: w.path }, w.message);
  return result.config;
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

  let supervisor: Supervisor | undefined;
  if (!file) {
    log.info("Idle mode: no configuration given (-c FILE); not serving any port");
  } else {
    const config = await load(file);
    supervisor = await createSupervisor(config.threads);
    try {
      const generation = await supervisor.apply(config);
      log.info({ generation, ports: config.proxy.map((p) => p.port), probes: config.probes, threads: config.threads, file }, "serving");
    } catch (err) {
      await supervisor.close();
      fail((err as Error).message, 1);
    }
  }
  // Keep the process alive in idle mode (nothing else holds the event loop).
  const keepAlive = setInterval(() => {}, 1 << 30);

  process.on("SIGHUP", () => {
    if (!file || !supervisor) return void log.warn("SIGHUP ignored: no configuration file (-c)");
    loadConfigFile(file).then(async (result) => {
      if (!result.ok) return log.error({ file, issues: result.issues }, "reload refused: invalid configuration; still serving the previous one");
      const generation = await supervisor.apply(result.config);
      log.info({ generation, file }, "reloaded");
    }).catch((err: unknown) => log.error({ err }, "reload failed; still serving the previous configuration"));
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const drainMs = supervisor?.config?.timeouts.drainMs ?? 0;
    log.info({ signal, drainMs }, "shutting down");
    clearInterval(keepAlive);
    (supervisor ? supervisor.close(drainMs) : Promise.resolve()).finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGQUIT", () => log.info("SIGQUIT ignored: configuration changes are applied live (SIGHUP or the admin API)"));
}

process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection (bug)"));
await main();
