// axe-core in headless Chromium, for the tests (tests/a11y_tools.py).
//
//   node axe.mjs [--dark] CHROMIUM WIDTH FILE...
//
// Opens each file (file:// URL) at WIDTH x 900 CSS pixels (with --dark, as
// a reader who asked for a dark colour scheme sees it), runs axe-core
// with the WCAG 2.0/2.1 A and AA rules and the best practices, adds a
// check of its own (the page does not scroll sideways), and prints one
// JSON object: {file: {axe: version, violations: [...]}}. Chromium
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
    // Not an axe-core rule: the page must not scroll sideways (WCAG 2.1
    // 1.4.10 Reflow, checked at the widths the tests use). The nodes are
    // the outermost elements that stick out past the screen's edge.
    const sideways = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth <= width) return [];
      const out = (e) => e.getBoundingClientRect().right > width + 0.5;
      const clipped = (e) => {  // inside a box that scrolls or clips it
        for (let up = e.parentElement; up; up = up.parentElement) {
          if (getComputedStyle(up).overflowX !== "visible") return true;
        }
        return false;
      };
      const culprits = [...document.body.querySelectorAll("*")]
        .filter((e) => out(e) && !out(e.parentElement) && !clipped(e));
      return (culprits.length ? culprits : [document.documentElement])
        .slice(0, 5)
        .map((e) => ({ target: [e.tagName.toLowerCase()
                                + (e.id ? "#" + e.id : "")],
                       html: e.outerHTML.slice(0, 200),
                       summary: `right edge at ${Math.round(e.getBoundingClientRect().right)}`
                                + ` px, the screen is ${width} px wide` }));
    });
    const violations = result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html.slice(0, 200),
                                    summary: n.failureSummary })),
    }));
    if (sideways.length) {
      violations.push({ id: "page-scrolls-sideways", impact: "serious",
                        help: "The page is wider than the screen (WCAG 1.4.10)",
                        nodes: sideways });
    }
    results[file] = { axe: result.testEngine.version, violations };
    await page.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
