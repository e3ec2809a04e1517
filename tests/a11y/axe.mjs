// axe-core in headless Chromium, for the tests (tests/a11y_tools.py).
//
//   node axe.mjs [--dark] CHROMIUM WIDTH FILE...
//
// Opens each file (file:// URL) at WIDTH x 900 CSS pixels (with --dark, as
// a reader who asked for a dark colour scheme sees it), runs axe-core
// with the WCAG 2.0/2.1 A and AA rules and the best practices, and prints
// one JSON object: {file: {axe: version, violations: [...]}}. Chromium
// is started with no network use (the flags the machine's notes give).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const args = process.argv.slice(2);
const dark = args[0] === "--dark";
const [chromium, width, ...files] = dark ? args.slice(1) : args;

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage"],
});
const results = {};
try {
  for (const file of files) {
    const page = await browser.newPage();
    await page.setViewport({ width: Number(width), height: 900 });
    await page.emulateMediaFeatures([
      { name: "prefers-color-scheme", value: dark ? "dark" : "light" }]);
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    await page.evaluate(axeSource);
    const result = await page.evaluate(() => globalThis.axe.run(document, {
      runOnly: { type: "tag",
                 values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                          "best-practice"] },
      resultTypes: ["violations"],
    }));
    results[file] = {
      axe: result.testEngine.version,
      violations: result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target, html: n.html.slice(0, 200),
                                      summary: n.failureSummary })),
      })),
    };
    await page.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
