/**
 * `npm run screenshots`: starts the real demo on a fresh database and saves
 * the README's pictures to docs/ — the Billing page, the purchase dialog, the
 * history and the partner page.
 */
import { launchChromium, startDemoServer } from '../test/support/demo-server.js';

const demo = await startDemoServer();
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const open = async (path: string) => {
    await page.goto(demo.base + path);
    await page.getByRole('heading', { name: /Extra minutes|Zusatzminuten/ }).waitFor();
  };

  await open('/demo/billing?account=demo-running-low');
  await page.screenshot({ path: 'docs/billing.png' });

  await page.locator('minute-topup-card').getByRole('button', { name: 'Buy more minutes' }).click();
  await page.getByRole('dialog', { name: 'Buy more minutes' }).waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'docs/dialog.png' });

  await open('/demo/billing?account=demo-on-extra');
  await page.locator('minute-topup-card').getByRole('button', { name: 'View packages' }).click();
  await page.getByRole('dialog', { name: 'Your packages' }).waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'docs/history.png' });

  await open('/demo/billing?account=demo-regular-buyer');
  await page.screenshot({ path: 'docs/upgrade-advice.png' });

  await open('/demo/partner');
  await page.screenshot({ path: 'docs/partner.png' });
  console.log('Saved docs/billing.png, dialog.png, history.png, upgrade-advice.png, partner.png');
} finally {
  await browser.close();
  await demo.stop();
}
