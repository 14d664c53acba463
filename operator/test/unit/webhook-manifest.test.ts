import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BRIDGE_PLURAL } from "../../src/crds.ts";
import { NAMESPACE_GRANTS } from "../../src/rbac.ts";
import { webhookObjects, webhookYaml } from "../../src/webhook/manifest.ts";
import { VALIDATE_PATH } from "../../src/webhook/server.ts";
import { DEFAULT_WEBHOOK_LISTEN, webhookSettings } from "../../src/webhook/settings.ts";

const file = new URL("../../../deploy/operator/webhook.yaml", import.meta.url);

describe("deploy/operator/webhook.yaml", () => {
  it("holds exactly what src/webhook/manifest.ts generates (run `npm run gen:webhook -w @carrier2/operator`)", () => {
    expect(readFileSync(file, "utf8")).toBe(webhookYaml());
  });

  it("sends only CREATE and UPDATE of GefyraBridges in the operator's namespace, failing closed, to the Service", () => {
    const [service, configuration] = webhookObjects("tools");
    const [webhook] = configuration.webhooks!;
    expect(configuration.webhooks).toHaveLength(1);
    expect(webhook!.rules).toEqual([
      { apiGroups: ["gefyra.dev"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: [BRIDGE_PLURAL], scope: "Namespaced" },
    ]);
    expect(webhook!.namespaceSelector).toEqual({ matchLabels: { "kubernetes.io/metadata.name": "tools" } });
    expect(webhook).toMatchObject({ failurePolicy: "Fail", sideEffects: "None", admissionReviewVersions: ["v1"] });
    expect(webhook!.timeoutSeconds).toBeLessThanOrEqual(10);
    expect(webhook!.clientConfig).toEqual({ service: { namespace: "tools", name: service.metadata!.name, path: VALIDATE_PATH, port: 443 } });
    expect(service.spec!.ports).toEqual([{ name: "webhook", port: 443, targetPort: Number(DEFAULT_WEBHOOK_LISTEN.split(":")[1]), protocol: "TCP" }]);
  });

  it("needs no more RBAC than the operator has: it lists GefyraBridges in its namespace", () => {
    const bridges = NAMESPACE_GRANTS.find((g) => g.rule.resources?.includes(BRIDGE_PLURAL))!;
    expect(bridges.rule.verbs).toContain("list");
  });
});

describe("webhookSettings", () => {
  it("is off without a certificate and key, as before", () => {
    expect(webhookSettings([], {})).toBeUndefined();
  });

  it("takes flags before the environment, and listens on 0.0.0.0:9443 by default", () => {
    expect(webhookSettings([], { WEBHOOK_CERT_FILE: "/tls/tls.crt", WEBHOOK_KEY_FILE: "/tls/tls.key" })).toEqual({
      host: "0.0.0.0",
      port: 9443,
      certFile: "/tls/tls.crt",
      keyFile: "/tls/tls.key",
    });
    const args = ["--webhook-cert", "/c", "--webhook-key=/k", "--webhook-listen", "[::]:8443"];
    expect(webhookSettings(args, { WEBHOOK_CERT_FILE: "/env", WEBHOOK_LISTEN: "127.0.0.1:1" })).toEqual({
      host: "::",
      port: 8443,
      certFile: "/c",
      keyFile: "/k",
    });
  });

  it.each([
    [["--webhook-cert", "/c"], /both --webhook-cert and --webhook-key/],
    [["--webhook-listen", "0.0.0.0:9443"], /needs --webhook-cert and --webhook-key/],
    [["--webhook-cert", "/c", "--webhook-key", "/k", "--webhook-listen", "9443"], /is not HOST:PORT/],
    [["--webhook-cert", "/c", "--webhook-key", "/k", "--webhook-listen", "h:70000"], /is not HOST:PORT/],
    [["--webhok-cert", "/c"], /Unknown option/],
  ])("refuses %j", (args, message) => {
    expect(() => webhookSettings(args, {})).toThrow(message);
  });
});
