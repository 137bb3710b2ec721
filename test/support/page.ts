import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Locator, Page } from 'playwright-core';

/**
 * Small page assertions for the browser suites that drive the real demo with
 * playwright-core (which has no `expect` of its own): they retry until the
 * page catches up, and read text through shadow roots.
 */

/**
 * Retries `check` until it passes (the page updates asynchronously), for up to
 * 15 s: generous, for a loaded machine; a passing check returns at once.
 */
export async function eventually(check: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The text of an element, its shadow tree included, with white space folded. */
export const visibleText = (locator: Locator) =>
  locator.evaluate((el) => {
    // No named inner functions: the test transform would wrap them in a helper the page lacks.
    const out: string[] = [];
    const stack: Node[] = [el];
    while (stack.length) {
      const node = stack.pop()!;
      if (node instanceof Element && node.shadowRoot) stack.push(node.shadowRoot);
      else if (node.nodeType === Node.TEXT_NODE) out.push(node.textContent ?? '');
      else for (let i = node.childNodes.length - 1; i >= 0; i -= 1) stack.push(node.childNodes[i]);
    }
    return out.join('').replace(/\s+/g, ' ');
  });

export const expect = (locator: Locator) => ({
  toBeVisible: () => locator.first().waitFor({ state: 'visible' }),
  toBeHidden: () => locator.first().waitFor({ state: 'hidden' }),
  toContainText: (text: string) =>
    eventually(async () => assert.match(await visibleText(locator), new RegExp(escape(text)))),
  notToContainText: (text: string) =>
    eventually(async () =>
      assert.doesNotMatch(await visibleText(locator), new RegExp(escape(text))),
    ),
  toBeChecked: () => eventually(async () => assert.equal(await locator.isChecked(), true)),
  toBeFocused: () =>
    eventually(async () =>
      assert.equal(await locator.evaluate((el) => el.matches(':focus')), true),
    ),
  toHaveCount: (n: number) => eventually(async () => assert.equal(await locator.count(), n)),
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** One line per axe violation (WCAG 2 A/AA, colour contrast included: rule, element, why), or none. */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: axePath });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: typeof import('axe-core') }).axe;
    // axe walks open shadow roots: the widget's parts are checked too.
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
    });
    return result.violations.flatMap((v) =>
      v.nodes.map(
        (n) => `${v.id}: ${JSON.stringify(n.target)} ${n.failureSummary?.replace(/\s+/g, ' ')}`,
      ),
    );
  });
}

/** Fails with one line per axe violation (WCAG 2 A/AA, colour contrast included) in `state`. */
export async function assertAccessible(page: Page, state: string): Promise<void> {
  const violations = await axeViolations(page);
  if (violations.length) assert.fail(`axe violations (${state}):\n${violations.join('\n')}`);
}
