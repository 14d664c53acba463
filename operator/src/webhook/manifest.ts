/**
 * The admission webhook's registration, the source of truth of deploy/operator/webhook.yaml
 * (`npm run gen:webhook -w @carrier2/operator`; a unit test fails when the YAML is stale): the Service
 * in front of the operator's webhook port, and the ValidatingWebhookConfiguration that sends every
 * CREATE and UPDATE of a GefyraBridge in the operator's namespace to it.
 *
 * The API server must trust the serving certificate: the `caBundle` is not in the file. With
 * cert-manager, a Certificate named `carrier2-operator-webhook` in the operator's namespace gets its CA
 * injected (the annotation below); otherwise patch `webhooks[0].clientConfig.caBundle` in (README).
 */
import type { V1Service, V1ValidatingWebhookConfiguration } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { BRIDGE_PLURAL, GROUP, VERSION } from "../crds.ts";
import { CONTROLLER_NAME, DEFAULT_OPERATOR_NAMESPACE } from "../labels.ts";
import { VALIDATE_PATH } from "./server.ts";

/** The Service, and the Certificate (Secret) cert-manager would issue for it. */
export const WEBHOOK_SERVICE = `${CONTROLLER_NAME}-webhook`;
/** The name the API server quotes: `admission webhook "rules.gefyrabridges.gefyra.dev" denied the request: ...`. */
export const WEBHOOK_NAME = `rules.${BRIDGE_PLURAL}.${GROUP}`;
/** The container port the operator serves the webhook on (`--webhook-listen`'s default). */
export const WEBHOOK_TARGET_PORT = 9443;

const labels = { "app.kubernetes.io/name": CONTROLLER_NAME, "app.kubernetes.io/part-of": "carrier2" };

export function webhookObjects(namespace: string = DEFAULT_OPERATOR_NAMESPACE): [V1Service, V1ValidatingWebhookConfiguration] {
  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: WEBHOOK_SERVICE, namespace, labels },
    spec: {
      // The operator's pods (labelled like its RBAC objects).
      selector: { "app.kubernetes.io/name": CONTROLLER_NAME },
      ports: [{ name: "webhook", port: 443, targetPort: WEBHOOK_TARGET_PORT, protocol: "TCP" }],
    },
  };
  const configuration: V1ValidatingWebhookConfiguration = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: CONTROLLER_NAME, labels, annotations: { "cert-manager.io/inject-ca-from": `${namespace}/${WEBHOOK_SERVICE}` } },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        clientConfig: { service: { namespace, name: WEBHOOK_SERVICE, path: VALIDATE_PATH, port: 443 } },
        rules: [
          {
            apiGroups: [GROUP],
            apiVersions: [VERSION],
            operations: ["CREATE", "UPDATE"],
            resources: [BRIDGE_PLURAL],
            scope: "Namespaced",
          },
        ],
        // GefyraBridges live in the operator's namespace; the operator lists bridges only there.
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
        matchPolicy: "Equivalent",
        // A bridge is not created unjudged: when the webhook cannot answer, the request fails.
        failurePolicy: "Fail",
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
        timeoutSeconds: 5,
      },
    ],
  };
  return [service, configuration];
}

/** deploy/operator/webhook.yaml. */
export function webhookYaml(namespace?: string): string {
  const header = "# Generated from operator/src/webhook/manifest.ts by `npm run gen:webhook -w @carrier2/operator`. Do not edit.\n";
  return header + webhookObjects(namespace).map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
}
