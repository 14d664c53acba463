import { describe, expect, it } from "vitest";
import { type BridgeRef, bridgesOfMount, compareBridges, inPrecedenceOrder, remotePorts, sharePort } from "../../src/route-order.ts";

function ref(name: string, created?: string, extra: Partial<BridgeRef> = {}): BridgeRef {
  return {
    metadata: { name, namespace: "gefyra", ...(created ? { creationTimestamp: created as unknown as Date } : {}) },
    target: "backend-mount",
    ...extra,
  };
}

const names = (bridges: BridgeRef[]) => bridges.map((b) => b.metadata.name);

describe("precedence of a mount's bridges", () => {
  it("is first come, first served: creation time, then name within the same second", () => {
    const bridges = [
      ref("zoe", "2026-11-21T10:00:00Z"),
      ref("carol", "2026-11-21T10:05:00Z"),
      ref("bob", "2026-11-21T10:00:00Z"),
      ref("aaron", "2026-11-21T10:09:00Z"),
    ];
    expect(names(inPrecedenceOrder(bridges))).toEqual(["bob", "zoe", "carol", "aaron"]);
  });

  it("puts a bridge not created yet (an admission of CREATE) last, by name among such", () => {
    const bridges = [ref("new-b"), ref("old", "2026-11-21T10:00:00Z"), ref("new-a")];
    expect(names(inPrecedenceOrder(bridges))).toEqual(["old", "new-a", "new-b"]);
    expect(compareBridges(ref("x"), ref("x"))).toBe(0);
  });

  it("does not reorder its input", () => {
    const bridges = [ref("b", "2026-11-21T10:01:00Z"), ref("a", "2026-11-21T10:00:00Z")];
    inPrecedenceOrder(bridges);
    expect(names(bridges)).toEqual(["b", "a"]);
  });
});

describe("a mount's bridges", () => {
  it("are those of its namespace naming it, not being deleted", () => {
    const bridges = [
      ref("mine"),
      ref("other-mount", undefined, { target: "other" }),
      { ...ref("elsewhere"), metadata: { name: "elsewhere", namespace: "other" } },
      { ...ref("leaving"), metadata: { name: "leaving", namespace: "gefyra", deletionTimestamp: new Date() } },
    ];
    expect(names(bridgesOfMount(bridges, "gefyra", "backend-mount"))).toEqual(["mine"]);
  });

  it("are on the remote ports of their portMappings; without any they may meet every bridge", () => {
    const web = ref("web", undefined, { portMappings: ["8080:80", "8443:443", "9000:80"] });
    const grpc = ref("grpc", undefined, { portMappings: ["5000:50051"] });
    const unplaced = ref("unplaced");
    expect(remotePorts(web)).toEqual([80, 443]);
    expect(remotePorts(unplaced)).toEqual([]);
    expect(sharePort(web, grpc)).toBe(false);
    expect(sharePort(web, ref("tls", undefined, { portMappings: ["1:443"] }))).toBe(true);
    expect(sharePort(unplaced, grpc)).toBe(true);
  });
});
