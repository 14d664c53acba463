// The operator process: kubeconfig from the usual places (in-cluster service account, $KUBECONFIG,
// ~/.kube/config), namespace from OPERATOR_NAMESPACE (default `gefyra`, as Gefyra's).
import { KubeConfig } from "@kubernetes/client-node";
import { DEFAULT_OPERATOR_NAMESPACE } from "./labels.ts";
import { jsonLogger } from "./log.ts";
import { startOperator } from "./operator.ts";

const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const log = jsonLogger();
const operator = await startOperator({ kubeConfig, namespace: process.env["OPERATOR_NAMESPACE"] ?? DEFAULT_OPERATOR_NAMESPACE, log });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info("stopping", { signal });
    operator.stop().then(() => process.exit(0));
  });
}
