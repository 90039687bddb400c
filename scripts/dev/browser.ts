// Debian's Chromium driven by playwright-core (never `playwright install`: that downloads a browser).
import { chromium as playwrightChromium, type Browser } from 'playwright-core';
import { chromium, chromiumPath, ensureDebianPackages } from './prerequisites';

const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium with a fresh profile (playwright gives each launch its own). */
export async function launchChromium(): Promise<Browser> {
  ensureDebianPackages([chromium]);
  return playwrightChromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}
