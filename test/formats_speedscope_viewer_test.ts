/// <reference lib="dom" />
/**
 * speedscope's own viewer (the npm package's dist/release/index.html, opened from a file URL in
 * headless Chromium) loads flame's speedscope and pprof files: it names the importer it chose
 * ("Importing as ...") and its sandwich table's self times add up to flame's totals.
 */
import assert from "node:assert/strict";
import { type Browser, launchBrowser } from "./browser.ts";
import { repoPath } from "./helpers.ts";
import { encodeProfile, readProfile, writerByName } from "../src/formats/registry.ts";
import { type Profile, SEPARATOR, totalWeight } from "../src/profile/profile.ts";

/** The viewer's index.html in Deno's npm cache (`deno install` puts it there), or undefined. */
function speedscopeHtml(): string | undefined {
  const spec = JSON.parse(Deno.readTextFileSync(repoPath("deno.json"))).imports.speedscope;
  const version = /@([\d.]+)$/.exec(spec)?.[1];
  const info = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  })
    .outputSync();
  const cache = JSON.parse(new TextDecoder().decode(info.stdout)).npmCache;
  const path = `${cache}/registry.npmjs.org/speedscope/${version}/dist/release/index.html`;
  try {
    Deno.statSync(path);
    return path;
  } catch {
    return undefined;
  }
}

const html = speedscopeHtml();
const chromium = (() => {
  try {
    return Deno.statSync("/usr/bin/chromium").isFile;
  } catch {
    return false;
  }
})();
const reason = !html
  ? "the speedscope npm package is not in Deno's cache (run deno install)"
  : !chromium
  ? "/usr/bin/chromium is missing (scripts/system-deps.sh installs it)"
  : undefined;

let browser: Browser | undefined;
let dir = "";

/** speedscope's number formats back to numbers: `1,234`, `12.50ms`, `1.20s`, `850ns`, `3.0KB`. */
function parseValue(text: string): number {
  const m = /^([\d,.]+)\s*(ns|µs|us|ms|s|min|h|B|KB|MB|GB)?/.exec(text.trim());
  assert.ok(m, `a value: ${text}`);
  const n = Number(m[1].replaceAll(",", ""));
  const scale: Record<string, number> = {
    ns: 1,
    µs: 1e3,
    us: 1e3,
    ms: 1e6,
    s: 1e9,
    min: 60e9,
    h: 3600e9,
    B: 1,
    KB: 1024,
    MB: 1024 ** 2,
    GB: 1024 ** 3,
  };
  return m[2] ? n * scale[m[2]] : n;
}

/** Loads `bytes` into the viewer as `name`; returns the importer line and the sandwich rows. */
async function view(name: string, bytes: Uint8Array) {
  if (!browser) {
    browser = await launchBrowser();
    dir = await Deno.makeTempDir({ prefix: "flame-speedscope-" });
  }
  let b64 = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    b64 += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  const script = `${dir}/${name}.js`;
  Deno.writeTextFileSync(
    script,
    `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ${JSON.stringify(btoa(b64))});`,
  );
  const page = await browser.context.newPage();
  const logs: string[] = [];
  page.on("console", (m) => logs.push(m.text()));
  page.on("pageerror", (e) => logs.push(`page error: ${e.message}`));
  try {
    await page.goto(`file://${html}#localProfilePath=${script}`);
    await page.waitForFunction(() => document.body.innerText.includes("Sandwich"), null, {
      timeout: 20_000,
    });
    for (let i = 0; i < 100 && !logs.some((l) => l.startsWith("Importing as")); i++) {
      await page.waitForTimeout(100);
    }
    await page.keyboard.press("3"); // the sandwich view: a table of every function
    await page.waitForFunction(() => document.body.innerText.includes("Symbol Name"), null, {
      timeout: 10_000,
    });
    const text = await page.evaluate(() => document.body.innerText);
    const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
    const start = lines.findIndex((l) => l.replace(/\s+/g, " ") === "Total Self Symbol Name");
    assert.ok(start >= 0, text);
    const rows: { total: number; self: number; name: string }[] = [];
    for (let i = start + 1; i + 2 < lines.length + 1 && /^[\d,.]/.test(lines[i]); i += 3) {
      rows.push({
        total: parseValue(lines[i]),
        self: parseValue(lines[i + 1]),
        name: lines[i + 2],
      });
    }
    return {
      importer: logs.find((l) => l.startsWith("Importing as")),
      rows,
      problems: logs.filter((l) => l.startsWith("page error")),
    };
  } finally {
    await page.close();
  }
}

function functions(profile: Profile): number {
  const names = new Set<string>();
  for (const k of profile.stacks.keys()) for (const f of k.split(SEPARATOR)) names.add(f);
  return names.size;
}

const CASES: [fixture: string, writer: string, importer: RegExp, tolerance: number][] = [
  ["folded/simple.folded", "speedscope", /^Importing as speedscope json file$/, 0],
  ["folded/simple.folded", "pprof", /^Importing as protobuf encoded pprof file$/, 0],
  ["formats/cprofile-py313.prof", "speedscope", /^Importing as speedscope json file$/, 0.02],
  ["formats/cprofile-py313.prof", "pprof", /^Importing as protobuf encoded pprof file$/, 0.02],
  ["formats/node.cpuprofile", "speedscope", /^Importing as speedscope json file$/, 0.02],
];

for (const [fixture, writer, importer, tolerance] of CASES) {
  Deno.test({
    name: `speedscope viewer: flame's ${writer} of ${fixture}${
      reason ? ` (ignored: ${reason})` : ""
    }`,
    ignore: reason !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const { profile } = await readProfile(repoPath(`fixtures/${fixture}`));
      const { bytes } = await encodeProfile(profile, writerByName(writer));
      const name = `${fixture.replace(/\W/g, "_")}.${
        writer === "pprof" ? "pb.gz" : "speedscope.json"
      }`;
      const seen = await view(name, bytes);
      assert.deepEqual(seen.problems, []);
      assert.match(seen.importer ?? "(none)", importer);
      // The table lists every function once; their self times add up to the total.
      assert.equal(seen.rows.length, functions(profile), seen.rows.map((r) => r.name).join("\n"));
      const self = seen.rows.reduce((s, r) => s + r.self, 0);
      const total = totalWeight(profile.stacks);
      assert.ok(Math.abs(self - total) <= total * tolerance, `viewer ${self}, flame ${total}`);
      const top = Math.max(...seen.rows.map((r) => r.total));
      assert.ok(top <= total * (1 + tolerance) + 1);
    },
  });
}

Deno.test({
  name: "speedscope viewer: close the browser",
  ignore: reason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await browser?.close();
    if (dir) await Deno.remove(dir, { recursive: true });
  },
});
