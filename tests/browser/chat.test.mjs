// End-to-end test of the browser page served by loopchat-server, in headless
// Chromium driven by playwright-core. Run from the repo root:
//   LOOPCHAT_SERVER=build/server/loopchat-server node --test tests/browser/chat.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const artifacts = path.join(here, 'artifacts');
const serverBin = path.resolve(process.cwd(),
  process.env.LOOPCHAT_SERVER || path.join(repoRoot, 'build', 'server', 'loopchat-server'));
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const haveServer = fs.existsSync(serverBin);

const WAIT = 15000; // ms for any single condition

const servers = new Set();
let browser;
let pageServer;

// Starts loopchat-server; resolves with { child, port } once it printed its port.
function startServer(port) {
  return new Promise((resolve, reject) => {
    const args = ['--bind', '127.0.0.1', '--port', String(port), '--fetch-allow', '127.0.0.0/8', '--quiet'];
    const child = spawn(serverBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.add(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`server did not report its port in time\n${out}\n${err}`)), WAIT);
    const fail = (e) => { clearTimeout(timer); child.kill('SIGKILL'); reject(e); };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on [^\s:]+:(\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]) }); }
    });
    child.stderr.on('data', (d) => { err += d; if (err.length > 20000) err = err.slice(-10000); });
    child.on('error', fail);
    child.on('exit', (code, sig) => {
      servers.delete(child);
      fail(new Error(`server exited early (code ${code}, signal ${sig})\n${out}\n${err}`));
    });
  });
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(t);
}

// The same port right after a stop: retry a few times in case the OS is slow to free it.
async function restartServer(port) {
  let lastErr;
  for (let i = 0; i < 20; i++) {
    try { return await startServer(port); } catch (e) {
      lastErr = e;
      await new Promise((r) => setTimeout(r, 250 * (i + 1)));
    }
  }
  throw lastErr;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}

async function connected(page) {
  await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor({ timeout: WAIT });
  assert.match(await page.getByTestId('conn-state').textContent(), /connected/);
}

// The room shows in the list and the server has confirmed the join.
async function inRoom(page, room) {
  await page.locator(`[data-testid="rooms"] li[data-room="${room}"][data-joined="true"]`).waitFor({ timeout: WAIT });
}

async function setNick(page, name) {
  const nick = page.getByTestId('nick');
  await nick.fill(name);
  await nick.press('Enter');
  await page.waitForFunction((n) => document.body.dataset.me === n, name, { timeout: WAIT });
}

async function type(page, line) {
  const input = page.getByTestId('input');
  await input.fill(line);
  await input.press('Enter');
}

function msgRow(page, from, text) {
  return page.locator(`[data-testid="log"] .msg[data-from="${from}"]`, { hasText: text });
}

// Every message row must be unique by (room, seq, text).
async function assertNoDuplicates(page, who) {
  const keys = await page.$$eval('[data-testid="log"] .msg', (rows) => rows.map((r) =>
    `${r.dataset.room}|${r.dataset.seq}|${r.querySelector('.text')?.textContent ?? r.textContent}`));
  const dup = keys.filter((k, i) => keys.indexOf(k) !== i);
  assert.deepEqual(dup, [], `${who}: duplicated message rows`);
  return keys.length;
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  pageServer = http.createServer((req, res) => {
    if (req.url === '/page') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html><head><title>Test Page</title></head><body><p>hello</p></body></html>');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  pageServer.listen(0, '127.0.0.1');
  await once(pageServer, 'listening');
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  for (const child of [...servers]) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  if (pageServer) pageServer.close();
});

test('two people chat, remind, fetch, and survive a server restart', {
  timeout: 120000,
}, async () => {
  assert.ok(haveServer, `no server binary at ${serverBin} (set LOOPCHAT_SERVER)`);
  let { child, port } = await startServer(0);
  const url = `http://127.0.0.1:${port}/`;

  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const viewport = { width: 1000, height: 700 };
  const ctxA = await browser.newContext({ viewport });
  const ctxB = await browser.newContext({ viewport });
  const alice = await ctxA.newPage();
  const bob = await ctxB.newPage();
  const pageErrors = [];
  for (const [who, p] of [['alice', alice], ['bob', bob]]) {
    p.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
  }

  // --- both open the page: guests in lobby --------------------------------
  await alice.goto(url);
  await connected(alice);
  await inRoom(alice, 'lobby');
  await bob.goto(url);
  await connected(bob);
  await inRoom(bob, 'lobby');

  // --- nicknames; each sees the other's presence --------------------------
  await setNick(alice, 'alice');
  await bob.locator('[data-testid="log"] .presence[data-room="lobby"]', { hasText: 'alice' }).waitFor({ timeout: WAIT });
  await setNick(bob, 'bob');
  await alice.locator('[data-testid="log"] .presence[data-room="lobby"]', { hasText: 'bob' }).waitFor({ timeout: WAIT });

  // A taken name is refused, visibly, and the old name stays.
  await bob.getByTestId('nick').fill('alice');
  await bob.getByTestId('nick').press('Enter');
  await bob.locator('#nick-error', { hasText: 'taken' }).waitFor({ timeout: WAIT });
  assert.equal(await bob.evaluate(() => document.body.dataset.me), 'bob');
  await bob.getByTestId('nick').fill('bob');
  await bob.getByTestId('nick').press('Enter');

  // --- messages both ways --------------------------------------------------
  await type(alice, 'hello bob, see https://example.org/docs.');
  await msgRow(bob, 'alice', 'hello bob').waitFor({ timeout: WAIT });
  assert.equal(await msgRow(alice, 'alice', 'hello bob').getAttribute('data-room'), 'lobby');
  assert.ok(await alice.locator('.msg.own[data-from="alice"]').count() >= 1, 'own message styled apart');
  assert.equal(await msgRow(bob, 'alice', 'hello bob').locator('a[href="https://example.org/docs"]').count(), 1,
    'URL in text is a link');

  await bob.getByTestId('input').fill('hi alice <b>not bold</b>');
  await bob.getByTestId('send').click();
  await msgRow(alice, 'bob', 'hi alice').waitFor({ timeout: WAIT });
  assert.equal(await msgRow(alice, 'bob', 'hi alice').locator('b').count(), 0, 'user text is never markup');
  await shot(alice, '01-alice-chat');
  await shot(bob, '01-bob-chat');

  // --- reminder and link preview -------------------------------------------
  await type(alice, '/remind 1 tea');
  await alice.locator('[data-testid="log"] .reminder', { hasText: 'tea' }).waitFor({ timeout: WAIT });

  const pagePort = pageServer.address().port;
  await type(alice, `/fetch http://127.0.0.1:${pagePort}/page`);
  await alice.locator('[data-testid="log"] .preview', { hasText: 'Test Page' }).waitFor({ timeout: WAIT });
  // The room sees the server's preview message too.
  await bob.locator('[data-testid="log"] .msg[data-from="alice"]', { hasText: 'Test Page' }).waitFor({ timeout: WAIT });
  await shot(alice, '02-alice-remind-fetch');
  await shot(bob, '02-bob-preview');

  // --- a second room: unread badge on the room not shown -------------------
  await type(alice, '/join side');
  await inRoom(alice, 'side');
  await type(bob, '/join side');
  await inRoom(bob, 'side');
  await bob.locator('[data-testid="rooms"] li[data-room="lobby"] button').click();
  await type(alice, 'psst, over here');
  await bob.locator('[data-testid="rooms"] li[data-room="side"] .badge', { hasText: '1' }).waitFor({ timeout: WAIT });
  await bob.locator('[data-testid="rooms"] li[data-room="side"] button').click();
  await msgRow(bob, 'alice', 'psst').waitFor({ state: 'visible', timeout: WAIT });
  await alice.locator('[data-testid="rooms"] li[data-room="lobby"] button').click();
  await bob.locator('[data-testid="rooms"] li[data-room="lobby"] button').click();

  // --- the server restarts on the same port --------------------------------
  await stopServer(child);
  servers.delete(child);
  for (const p of [alice, bob]) {
    await p.locator('[data-testid="conn-state"]', { hasText: 'reconnecting' }).waitFor({ timeout: WAIT });
  }
  await shot(alice, '03-alice-reconnecting');
  ({ child, port } = await restartServer(port));
  for (const p of [alice, bob]) {
    await connected(p);
    await inRoom(p, 'lobby');
    await inRoom(p, 'side');
  }
  assert.equal(await alice.evaluate(() => document.body.dataset.me), 'alice', 'nickname restored');
  assert.equal(await bob.evaluate(() => document.body.dataset.me), 'bob', 'nickname restored');

  await type(alice, 'still here after the restart?');
  await msgRow(bob, 'alice', 'still here after the restart').waitFor({ timeout: WAIT });
  await type(bob, 'yes, all good');
  await msgRow(alice, 'bob', 'yes, all good').waitFor({ timeout: WAIT });
  // Messages from before the restart are still there, once.
  assert.equal(await msgRow(bob, 'alice', 'hello bob').count(), 1);
  assert.equal(await msgRow(alice, 'bob', 'hi alice').count(), 1);
  assert.ok(await assertNoDuplicates(alice, 'alice') >= 5);
  assert.ok(await assertNoDuplicates(bob, 'bob') >= 5);
  await shot(alice, '04-alice-after-restart');
  await shot(bob, '04-bob-after-restart');

  // --- narrow screen -------------------------------------------------------
  await bob.setViewportSize({ width: 375, height: 700 });
  await bob.getByTestId('input').fill('/help');
  await bob.getByTestId('send').click();
  await bob.locator('[data-testid="log"] .help').waitFor({ timeout: WAIT });
  const roomsBox = await bob.getByTestId('rooms').boundingBox();
  const logBox = await bob.getByTestId('log').boundingBox();
  assert.ok(roomsBox && logBox && roomsBox.y + roomsBox.height <= logBox.y + 1, 'room list sits above the log');
  const overflow = await bob.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, 'no horizontal scrolling at 375px');
  await shot(bob, '05-bob-narrow');

  assert.deepEqual(pageErrors, [], 'no script errors on the pages');
  await stopServer(child);
  servers.delete(child);
});
