// End-to-end test of the browser page served by loopchat-server, in headless
// Chromium driven by playwright-core. Run from the repo root:
//   LOOPCHAT_SERVER=build/server/loopchat-server node --test tests/browser/chat.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
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
function startServer(port, extra = []) {
  return new Promise((resolve, reject) => {
    const args = ['--bind', '127.0.0.1', '--port', String(port), '--fetch-allow', '127.0.0.0/8', '--quiet', ...extra];
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

async function launch() {
  if (!browser) {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
        '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
  }
  return browser;
}

// A TCP relay between the page and the server, so that a test can drop the
// page's connection for real: cut() destroys every relayed socket and refuses
// new ones until open().
async function startProxy(targetPort) {
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) { client.destroy(); return; }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    for (const s of [client, upstream]) { sockets.add(s); s.on('error', end); s.on('close', end); }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    cut() { refusing = true; for (const s of [...sockets]) s.destroy(); },
    open() { refusing = false; },
    close() { this.cut(); server.close(); },
  };
}

// Another client says `texts` in `room`, one after the other, each once the
// server has accepted the one before (rate_limited ones again, a moment later).
async function post(port, room, texts) {
  const ctx = await (await launch()).newContext();
  const page = await ctx.newPage();
  await page.goto(`http://127.0.0.1:${port}/healthz`);
  await page.evaluate(async ({ port, room, texts }) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const waiting = new Map();
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      const answer = m.id !== undefined && waiting.get(m.id);
      if (answer) { waiting.delete(m.id); answer(m); }
    };
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('poster: no connection')); });
    const ask = (request) => new Promise((resolve) => { waiting.set(request.id, resolve); ws.send(JSON.stringify(request)); });
    const joined = await ask({ type: 'join', room, id: 'join' });
    if (joined.type !== 'joined') throw new Error(`poster: ${JSON.stringify(joined)}`);
    for (let i = 0; i < texts.length; i++) {
      for (;;) {
        const answer = await ask({ type: 'say', room, text: texts[i], id: `say-${i}` });
        if (answer.type === 'message') break;
        if (answer.code !== 'rate_limited') throw new Error(`poster: ${JSON.stringify(answer)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    ws.close();
  }, { port, room, texts });
  await ctx.close();
}

function numbered(prefix, count) {
  return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
}

// The texts of a room's message rows, top to bottom.
function roomTexts(page, room) {
  return page.$$eval(`[data-testid="log"] .msg[data-room="${room}"] .text`, (rows) => rows.map((r) => r.textContent));
}

// The last things the page told its user (to explain a failure).
async function notes(page) {
  const rows = await page.$$eval('[data-testid="log"] .note, [data-testid="log"] .error',
    (list) => list.map((r) => [...r.children].map((c) => c.textContent).join(' ')));
  return rows.slice(-10).join('\n');
}

// Waits for `condition` (a function of the page, run there), or fails saying what the page showed.
async function waitOrExplain(page, condition, arg, what) {
  try {
    await page.waitForFunction(condition, arg, { timeout: WAIT });
  } catch (e) {
    throw new Error(`${what} did not happen; the page said:\n${await notes(page)}\n(${e.message.split('\n')[0]})`);
  }
}

// `got` must be `want`: else say what is missing, repeated or out of place.
function assertOnceInOrder(got, want, context) {
  const missing = want.filter((t) => !got.includes(t));
  const repeated = got.filter((t, i) => got.indexOf(t) !== i);
  const brief = (list) => `${list.length}${list.length ? ` (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', ...' : ''})` : ''}`;
  assert.deepEqual(got, want,
    `messages shown: ${got.length}, wanted ${want.length}; missing ${brief(missing)}; repeated ${brief(repeated)}\n${context}`);
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

  await launch();
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

// The page's connection drops (the relay cuts it) while another client says
// `count` messages; once it is back, it has asked for the history since the
// last message it had shown, and shows each missed message once, in order.
async function dropAndFill(room, count) {
  assert.ok(haveServer, `no server binary at ${serverBin} (set LOOPCHAT_SERVER)`);
  const { child, port } = await startServer(0, ['--history', '1000', '--rate', '1000', '--burst', '1000']);
  const proxy = await startProxy(port);
  const ctx = await (await launch()).newContext();
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const asked = [];
  page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => {
    const frame = JSON.parse(payload);
    if (frame.type === 'history' && frame.room === room) asked.push(frame);
  }));
  try {
    await page.goto(`http://127.0.0.1:${proxy.port}/?room=${room}`);
    await connected(page);
    await inRoom(page, room);
    await post(port, room, ['before the drop']);
    await page.locator('[data-testid="log"] .msg', { hasText: 'before the drop' }).waitFor({ timeout: WAIT });
    const lastSeen = Number(await page.locator(`.msg[data-room="${room}"]`).last().getAttribute('data-seq'));

    proxy.cut();
    await page.locator('[data-testid="conn-state"]', { hasText: 'reconnecting' }).waitFor({ timeout: WAIT });
    const missed = numbered('missed-', count);
    await post(port, room, missed);
    asked.length = 0;
    proxy.open();
    await page.locator('#retry').click({ timeout: WAIT }).catch(() => { /* it may be reconnecting already */ });
    await connected(page);
    await inRoom(page, room);
    const want = ['before the drop', ...missed];
    await waitOrExplain(page, ({ room, last }) => [...document.querySelectorAll(`.msg[data-room="${room}"] .text`)]
      .some((t) => t.textContent === last), { room, last: missed[missed.length - 1] }, `${missed[missed.length - 1]} shown`);
    // Live messages after the fill are shown once as well.
    await post(port, room, ['after the fill']);
    await waitOrExplain(page, (room) => [...document.querySelectorAll(`.msg[data-room="${room}"] .text`)]
      .some((t) => t.textContent === 'after the fill'), room, 'the live message after the fill');
    assertOnceInOrder(await roomTexts(page, room), [...want, 'after the fill'], await notes(page));
    assert.ok(asked.length >= 1 && asked[0].since_seq === lastSeen - 1,
      `the first history after the reconnect asks since one below the last seq seen (${lastSeen}): ${JSON.stringify(asked)}`);
    assert.deepEqual(errors, [], 'no script errors on the page');
    return asked;
  } finally {
    await ctx.close();
    proxy.close();
    await stopServer(child);
  }
}

test('a dropped page fills the gap once it is back: each missed message once, in order', {
  timeout: 60000,
}, async () => {
  await dropAndFill('gap', 60);
});

test('a gap longer than one history answer is filled page by page with since_seq', {
  timeout: 60000,
}, async () => {
  const asked = await dropAndFill('longgap', 250);
  assert.ok(asked.length >= 3, `250 messages take 3 answers of 100 at least: ${JSON.stringify(asked)}`);
  for (let i = 1; i < asked.length; i++) assert.ok(asked[i].since_seq > asked[i - 1].since_seq, 'each page goes on from the last');
});

// 100 messages of 16,000 characters: 1.6 MB, more than a connection's queue
// (1 MiB). The server trims the join's history to its byte budget and says
// so; the page shows the newest, stays connected, and pages back on demand.
test('a room whose last 100 messages exceed 1 MiB can be joined from the page', {
  timeout: 90000,
}, async () => {
  assert.ok(haveServer, `no server binary at ${serverBin} (set LOOPCHAT_SERVER)`);
  // A ring of 200 keeps all 100 after the page's own message too.
  const { child, port } = await startServer(0, ['--history', '200', '--rate', '1000', '--burst', '1000']);
  const big = numbered('big-', 100).map((head) => `${head} ${'x'.repeat(16000 - head.length - 1)}`);
  const ctx = await (await launch()).newContext({ viewport: { width: 1000, height: 700 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let closes = 0;
  page.on('websocket', (ws) => ws.on('close', () => { closes++; }));
  try {
    await post(port, 'big', big);
    await page.goto(`http://127.0.0.1:${port}/?room=big`);
    await waitOrExplain(page, () => !!document.querySelector('[data-testid="older"]'), undefined,
      'the older-messages control');
    assert.equal(closes, 0, `the connection was closed on joining; the page said:\n${await notes(page)}`);
    await connected(page);
    const shown = await roomTexts(page, 'big');
    assert.ok(shown.length > 0 && shown.length < 100, `some, not all, of the 100 are shown: ${shown.length}`);
    assert.deepEqual(shown, big.slice(100 - shown.length), 'the newest, in order');
    // Still connected and served: a message of its own comes back.
    await type(page, 'still connected');
    await msgRow(page, await page.evaluate(() => document.body.dataset.me), 'still connected').waitFor({ timeout: WAIT });
    await shot(page, '06-big-room');

    // The control pages back until the server has no more.
    for (let i = 0; i < 100 && await page.locator('[data-testid="older"]').count(); i++) {
      const before = (await roomTexts(page, 'big')).length;
      await page.locator('[data-testid="older"]').click();
      await waitOrExplain(page, ({ before }) => document.querySelectorAll('.msg[data-room="big"]').length > before
        || !document.querySelector('[data-testid="older"]'), { before }, 'an older page');
    }
    assertOnceInOrder((await roomTexts(page, 'big')).map((t) => t.slice(0, 12)),
      [...big, 'still connected'].map((t) => t.slice(0, 12)), 'every message once, oldest first');
    assert.equal(closes, 0, 'the connection was never closed');
    assert.equal(await page.getByTestId('conn-state').getAttribute('data-state'), 'open');
    assert.deepEqual(errors, [], 'no script errors on the page');
  } finally {
    await ctx.close();
    await stopServer(child);
  }
});
