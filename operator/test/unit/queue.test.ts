import { describe, expect, it, vi } from "vitest";
import { WorkQueue } from "../../src/controller/queue.ts";

describe("WorkQueue", () => {
  it("holds a key once however often it is added", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    queue.add("b");
    queue.add("a");
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe("a");
    expect(await queue.get()).toBe("b");
  });

  it("does not hand out a key while it is processed, and queues it again after if it was added", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    const key = await queue.get();
    queue.add("a");
    expect(queue.length).toBe(0);
    queue.done(key!);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe("a");
  });

  it("wakes a waiting worker", async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.add("a");
    expect(await next).toBe("a");
  });

  it("backs off exponentially per key up to the maximum, and forgets on success", () => {
    const queue = new WorkQueue({ baseMs: 100, maxMs: 1000 });
    expect([1, 2, 3, 4, 5, 40].map((n) => queue.backoffMs(n))).toEqual([100, 200, 400, 800, 1000, 1000]);
    queue.addRateLimited("a");
    queue.addRateLimited("a");
    expect(queue.failures("a")).toBe(2);
    queue.forget("a");
    expect(queue.failures("a")).toBe(0);
    queue.shutDown();
  });

  it("adds a delayed key when its time comes; the earliest of several delays wins", () => {
    vi.useFakeTimers();
    try {
      const queue = new WorkQueue();
      queue.addAfter("a", 500);
      queue.addAfter("a", 100);
      queue.addAfter("a", 900);
      vi.advanceTimersByTime(99);
      expect(queue.length).toBe(0);
      vi.advanceTimersByTime(1);
      expect(queue.length).toBe(1);
      vi.advanceTimersByTime(1000);
      expect(queue.length).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("resolves waiting workers with undefined on shutdown", async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.shutDown();
    expect(await next).toBeUndefined();
    queue.add("a");
    expect(await queue.get()).toBeUndefined();
  });
});
