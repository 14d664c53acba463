import type { GefyraBridgeMount, MountState } from "../../src/crds.ts";
import { CustomResourceClient } from "../../src/kube/api.ts";
import type { Report } from "../../src/status.ts";

/** The mounts adapter, except that the first time a reconcile reports PREPARING, someone else has
 * just updated the mount (a label): the report is then written against a stale resourceVersion. */
export class InterferingMounts extends CustomResourceClient<GefyraBridgeMount> {
  interfered = false;

  override async report(object: GefyraBridgeMount, report: Report<MountState>, now: Date): Promise<GefyraBridgeMount> {
    if (!this.interfered && report.state === "PREPARING") {
      this.interfered = true;
      const fresh = (await this.get(object.metadata.namespace, object.metadata.name))!;
      await this.patch(fresh, { metadata: { labels: { touched: "yes" } } });
    }
    return super.report(object, report, now);
  }
}
