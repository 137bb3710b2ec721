import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const candidates = () => [
  process.env.CHROME_PATH,
  '/usr/lib/chromium/chromium',
  '/usr/bin/chromium',
];

/**
 * The path of a Chromium to run browser tests with: `CHROME_PATH`, else
 * Debian's chromium. As root, installs Debian's package when none is found;
 * otherwise throws.
 */
export function findChromium() {
  let found = candidates().find((p) => p && existsSync(p));
  if (!found && process.getuid?.() === 0) {
    console.error("Chromium not found: installing Debian's chromium package…");
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', 'chromium'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    found = candidates().find((p) => p && existsSync(p));
  }
  if (!found) {
    throw new Error(
      "Chromium not found: install Debian's chromium package (apt-get install chromium) or set CHROME_PATH.",
    );
  }
  return found;
}

/** Flags Chromium needs here: root (no sandbox), no GPU, and no calls to the outside. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-dev-shm-usage',
];
