// Shared by the console's end-to-end run and benchmark: the real `lattice` binary and Chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts `lattice <mode>` on a free loopback port; resolves when it listens. */
export async function startLattice(mode, extra = []) {
  const bin = process.env.LATTICE_BIN ?? new URL('../../build/lattice', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'lattice-console-'));
  const port = await freePort();
  const args = [mode, '--listen', `127.0.0.1:${port}`, '--data-dir', dir, ...extra];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (out.includes('listening on')) break;
    if (proc.exitCode !== null) throw new Error(`lattice exited: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, proc, output: () => out.slice(-4000), stop: () => proc.kill('SIGTERM') };
}

export function launchChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  const profile = mkdtempSync(join(tmpdir(), 'lattice-chromium-'));
  // A fresh profile each run (Playwright passes it as --user-data-dir).
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function apiCall(url, method, path, body, token) {
  const r = await fetch(url + path, {
    method,
    headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text && text[0] === '{' ? JSON.parse(text) : text };
}
