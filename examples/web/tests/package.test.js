// The package as users import it: by its name, through package.json's
// "exports" (Node resolves a package's own name from inside it).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

test("the package's entry points resolve by name and export the client", async () => {
  const client = await import("espoir-client");
  const frame = await import("espoir-client/frame");
  const betting = await import("espoir-client/betting");
  assert.equal(typeof client.EspoirClient, "function");
  assert.equal(typeof client.EspoirError, "function");
  assert.equal(client.LinkSecurityError, frame.LinkSecurityError, "one error class, re-exported");
  assert.equal(typeof frame.FrameDecoder, "function");
  assert.equal(betting.BETTING.login, 100002);
  assert.equal(betting.MATCH_STATES[2], "betting open");
});

test("package.json ships the modules and their declarations, and only them", async () => {
  const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
  const targets = Object.values(pkg.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e)));
  for (const target of [...targets, pkg.main, pkg.types]) {
    const file = target.replace(/^\.\//, "");
    assert.ok(
      file === "package.json" || pkg.files.some((f) => file === f || file.startsWith(f)),
      `${target} is in "files"`,
    );
  }
  assert.equal(pkg.devDependencies.typescript.match(/^\d+\.\d+\.\d+$/)?.[0], pkg.devDependencies.typescript, "pinned");
});
