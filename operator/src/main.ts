// The operator process: kubeconfig from the usual places (in-cluster service account, $KUBECONFIG,
// ~/.kube/config), namespace from OPERATOR_NAMESPACE (default `gefyra`, as Gefyra's). With a
// certificate and key (`--webhook-cert`/`--webhook-key`, see webhook/settings.ts) it also serves the
// GefyraBridge admission webhook.
import { KubeConfig } from "@kubernetes/client-node";
import { kubeApi } from "./kube/api.ts";
import { DEFAULT_OPERATOR_NAMESPACE } from "./labels.ts";
import { jsonLogger } from "./log.ts";
import { startOperator } from "./operator.ts";
import { startWebhook, type Webhook } from "./webhook/server.ts";
import { webhookSettings } from "./webhook/settings.ts";

const log = jsonLogger();
let settings: ReturnType<typeof webhookSettings>;
try {
  settings = webhookSettings(process.argv.slice(2), process.env);
} catch (err) {
  log.error("invalid arguments", { error: (err as Error).message });
  process.exit(2);
}

const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const operator = await startOperator({ kubeConfig, namespace: process.env["OPERATOR_NAMESPACE"] ?? DEFAULT_OPERATOR_NAMESPACE, log });
let webhook: Webhook | undefined;
if (settings) {
  const bridges = kubeApi(kubeConfig).bridges;
  webhook = await startWebhook({ ...settings, listBridges: async (namespace) => (await bridges.list(namespace)).items, log });
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info("stopping", { signal });
    Promise.all([operator.stop(), webhook?.close()]).then(() => process.exit(0));
  });
}
