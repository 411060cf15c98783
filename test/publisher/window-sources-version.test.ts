/**
 * Window sources (publisher/window-sources.ts) and the file versions: a signed window or batch of digest layout
 * v2 (window version 2, batch version 1) is not read here, which is missing evidence (`absent`, naming the file
 * and the version), not evidence against its publisher (`invalid`, what a version 3 file with an edited candle is).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  publicKeyOf,
  signBatch,
  signedBatchJson,
  signedWindowJson,
  signWindow,
  UnsupportedVersionError,
  WindowDirectory,
  readSignedWindow,
} from "../../publisher";
import { SMALL_WINDOW } from "../helpers/windows";

const ETH_WINDOW = { ...SMALL_WINDOW, marketId: 0x4554482d55534454n }; // "ETH-USDT"

describe("window sources and file versions", () => {
  it("a version 2 window is absent evidence naming the file and version; an edited version 3 one is invalid", async () => {
    const privateKey = new Uint8Array(32).fill(3);
    const key = { privateKey, publicKey: await publicKeyOf(privateKey) };
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-window-versions-"));
    const doc = signedWindowJson(await signWindow(key, "BTC-USDT", SMALL_WINDOW)) as Record<string, unknown>;
    const bars = doc.bars as Record<string, unknown>[];
    writeFileSync(join(dir, "v3.json"), JSON.stringify(doc));
    writeFileSync(join(dir, "v2.json"), JSON.stringify({ ...doc, version: 2 }));
    const edited = bars.map((b, i) => (i === 2 ? { ...b, volume: "1" } : b));
    writeFileSync(join(dir, "edited.json"), JSON.stringify({ ...doc, bars: edited }));
    await expect(readSignedWindow(join(dir, "v2.json"))).rejects.toThrow(UnsupportedVersionError);

    const source = WindowDirectory.open(dir);
    const found = await source.lookup("BTC-USDT", SMALL_WINDOW.marketId, SMALL_WINDOW.endTime);
    expect(found.map((l) => [l.source, l.kind])).toEqual([
      [join(dir, "edited.json"), "invalid"],
      [join(dir, "v2.json"), "absent"],
      [join(dir, "v3.json"), "found"],
    ]);
    expect(found[1]).toMatchObject({
      reason: expect.stringMatching(
        new RegExp(
          `^${join(dir, "v2.json")}: version: signed window version 2 is no longer read \\(expected 3\\)`,
        ),
      ),
    });
    expect(found[0]).toMatchObject({
      reason: expect.stringMatching(/digest: .* is not the digest of the bars/),
    });
  });

  it("a version 1 batch (windows of layout v2) is absent evidence too", async () => {
    const privateKey = new Uint8Array(32).fill(4);
    const key = { privateKey, publicKey: await publicKeyOf(privateKey) };
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-batch-versions-"));
    mkdirSync(join(dir, "b"));
    const batch = await signBatch(key, [
      { market: "BTC-USDT", window: SMALL_WINDOW },
      { market: "ETH-USDT", window: ETH_WINDOW },
    ]);
    const file = join(dir, "b", "old.json");
    writeFileSync(file, JSON.stringify({ ...signedBatchJson(batch), version: 1 }));
    expect(JSON.parse(readFileSync(file, "utf8")).version).toBe(1);
    const [l] = await WindowDirectory.open(dir).lookupBatches(
      "ETH-USDT",
      ETH_WINDOW.marketId,
      ETH_WINDOW.endTime,
    );
    expect(l).toMatchObject({
      source: file,
      kind: "absent",
      reason: expect.stringContaining(
        `${file}: version: signed batch version 1 is no longer read (expected 2)`,
      ),
    });
  });
});
