// End-to-end tests of herken's web pages in a real browser: Debian's headless Chromium driven by
// playwright-core, with a fresh profile. One `herken serve` (keys on, a private data directory)
// serves every test. Run by scripts/test.sh; needs target/release/herken built.
//
// Screenshots are saved in tests/browser/artifacts/ (the good ones are copied by hand into
// docs/screenshots/ for the README).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const bin = process.env.HERKEN_BIN || path.join(root, 'target', 'release', 'herken');
const artifacts = path.join(here, 'artifacts');
const axeSource = fs.readFileSync(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let server, serverEnv, base, data, context, classifyToken, adminToken;
const serverLog = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function newKey(name, roles, env) {
  const out = execFileSync(bin, ['key', 'new', '--name', name, '--role', roles], { env, encoding: 'utf8' });
  return out.trim().split('\n').pop().trim();
}

async function waitForServer(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (server.exitCode !== null) throw new Error(`herken serve exited early:\n${serverLog.join('')}`);
    try {
      const r = await fetch(url, { redirect: 'manual' });
      if (r.status > 0) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`herken serve did not answer within ${ms} ms:\n${serverLog.join('')}`);
}

before(async () => {
  fs.rmSync(artifacts, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'herken-web-'));
  const env = {
    ...process.env,
    HERKEN_DATA_DIR: data,
    HERKEN_AUTH: 'keys',
    HERKEN_MODEL_DIR: path.join(root, 'models'),
    HERKEN_REPORT_MIN_COUNT: '5',
    RUST_LOG: 'info',
  };
  delete env.HERKEN_CONFIG;
  serverEnv = env;
  classifyToken = newKey('balie', 'classify', env);
  adminToken = newKey('fg', 'admin', env);
  const [grpc, web] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${web}`;
  server = spawn(bin, ['serve', '--addr', `127.0.0.1:${grpc}`, '--web-addr', `127.0.0.1:${web}`], {
    env, cwd: data, stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => serverLog.push(d.toString()));
  server.stderr.on('data', (d) => serverLog.push(d.toString()));
  await waitForServer(`${base}/inloggen`, 120_000);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'herken-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    locale: 'nl-NL',
    // axe-core is injected as an inline script, which the pages' CSP (rightly) forbids.
    bypassCSP: true,
  });
});

after(async () => {
  if (context) await context.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  // The server log must never hold a message text or a sender.
  const log = serverLog.join('');
  fs.writeFileSync(path.join(artifacts, 'server.log'), log);
  for (const secret of ['Merelstraat', 'piet.de.vries', '06-12345678', 'lantaarnpaal', 'teruggebeld']) {
    assert.ok(!log.includes(secret), `the server log contains ${secret}`);
  }
  fs.rmSync(data, { recursive: true, force: true });
});

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

async function axe(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }));
  const problems = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  assert.deepEqual(problems, [], `axe-core on ${name}`);
}

async function login(page, token) {
  await page.goto(`${base}/inloggen`);
  await page.getByLabel('Sleutel').fill(token);
  await page.getByRole('button', { name: 'Inloggen' }).click();
}

test('without a key every page sends you to the login form, and a wrong key is refused', async () => {
  const page = await context.newPage();
  for (const p of ['/', '/oefenen', '/zaal', '/leren']) {
    await page.goto(base + p);
    assert.match(new URL(page.url()).pathname, /^\/inloggen$/, p);
  }
  const r = await fetch(`${base}/leren.json`, { redirect: 'manual' });
  assert.equal(r.status, 303);
  // The session cookie is HttpOnly and SameSite=Strict.
  const cookie = (await context.cookies()).find((c) => c.name === 'herken_sessie');
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict');
  await axe(page, 'inloggen');
  await page.getByLabel('Sleutel').fill('not-a-key');
  await page.getByRole('button', { name: 'Inloggen' }).click();
  assert.match(await page.locator('.error').innerText(), /kennen we niet/);
  await shot(page, 'inloggen');
  await page.close();
});

test('a POST without the CSRF token is refused', async () => {
  const page = await context.newPage();
  await login(page, classifyToken);
  const r = await page.request.post(`${base}/`, { form: { tekst: 'Lamp kapot', kanaal: 'email' }, maxRedirects: 0 });
  assert.equal(r.status(), 403);
  await page.close();
});

test('Herkennen: a message gets its label, the highlighted cues with a legend, and a sentence to read aloud', async () => {
  const page = await context.newPage();
  await login(page, classifyToken);
  assert.equal(new URL(page.url()).pathname, '/');
  await axe(page, 'herkennen (leeg)');
  // Keyboard: the first Tab reaches the skip link, which is visible when focused.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');
  await page.getByLabel(/^Bericht/).fill(
    'Medewerker: Gemeente, goedemorgen.\nBurger: Ik heb de kapotte lantaarnpaal al drie keer gemeld en er is nog steeds niets gebeurd. ' +
    'Ik ben nooit teruggebeld, ik voel me echt niet serieus genomen.');
  await page.getByLabel('Kanaal').selectOption('telefoon');
  await page.getByRole('button', { name: 'Herken' }).click();
  assert.equal(await page.getByTestId('label').innerText(), 'Klacht');
  const families = await page.locator('[data-testid=text] mark.cue').evaluateAll((ms) => ms.map((m) => m.className));
  assert.ok(families.some((c) => c.includes('f-herhaling')), `cues: ${families}`);
  assert.ok(families.length >= 3, `cues: ${families}`);
  // The employee's turn is no evidence: nothing in it is marked.
  const marked = await page.locator('[data-testid=text] mark.cue').allInnerTexts();
  assert.ok(!marked.some((t) => t.includes('goedemorgen')));
  assert.ok(await page.locator('.legend li').count() >= 2);
  assert.match(await page.locator('.readaloud').innerText(), /klacht/i);
  assert.match(await page.locator('.note.satisfied').innerText(), /tevredenheid/i);
  await axe(page, 'herkennen (uitkomst)');
  await shot(page, 'herkennen');
  // An example from the list, in English.
  await page.getByRole('link', { name: 'Engels bericht' }).click();
  await page.getByRole('button', { name: 'Herken' }).click();
  assert.equal(await page.locator('.readaloud').getAttribute('lang'), 'en');
  // In doubt: the question to ask about the writer's intention.
  // A sarcasm cue with a label other than klacht is always a doubt (never silently overruled).
  await page.getByLabel(/^Bericht/).fill('Het is geen klacht, maar kunt u eens kijken naar de stoep bij ons? Goed bezig hoor.');
  await page.getByLabel('Kanaal').selectOption('balie');
  await page.getByRole('button', { name: 'Herken' }).click();
  assert.match(await page.locator('.note.doubt .question').innerText(), /\?$/);
  const negated = await page.locator('[data-testid=text] mark.negated').allInnerTexts();
  assert.ok(negated.some((t) => /klacht/i.test(t)), `"geen klacht" is shown as negated: ${negated}`);
  await axe(page, 'herkennen (twijfel)');
  await shot(page, 'herkennen-twijfel');
  await page.close();
});

test('Oefenen: a practice round by keyboard to its score, with the answer, the cues and why after each question', async () => {
  const page = await context.newPage();
  await login(page, classifyToken);
  await page.goto(`${base}/oefenen`);
  await axe(page, 'oefenen');
  await shot(page, 'oefenen-start');
  await page.getByLabel('Aantal vragen').first().selectOption('5');
  await page.getByRole('button', { name: 'Begin' }).first().click();
  for (let i = 0; i < 5; i++) {
    assert.match(await page.locator('.progress').innerText(), new RegExp(`Vraag ${i + 1} van 5`));
    if (i === 0) {
      await axe(page, 'oefenen vraag');
      await shot(page, 'oefenen-vraag');
    }
    // Answer by keyboard: K is klacht (app.js clicks the button with data-key="k").
    await Promise.all([page.waitForURL(/\/oefenen\/antwoord/), page.keyboard.press('k')]);
    const result = await page.getByTestId('result').innerText();
    const answer = await page.getByTestId('answer').innerText();
    assert.ok(['Klacht', 'Melding', 'Bezwaar', 'Raadsadres', 'Overig'].includes(answer));
    assert.equal(result.startsWith('✓'), answer === 'Klacht', `${result} / ${answer}`);
    assert.ok(await page.locator('[data-testid=text] mark.trainer').count() >= 1, 'the trainer\'s cues are marked');
    assert.ok((await page.locator('.readaloud').innerText()).length > 40, 'a teaching note');
    if (i === 0) {
      await axe(page, 'oefenen antwoord');
      await shot(page, 'oefenen-antwoord');
    }
    await Promise.all([page.waitForURL(/\/oefenen\/vraag/), page.keyboard.press('Enter')]);
  }
  const score = await page.getByTestId('score').innerText();
  assert.match(score, /^[0-5] van 5$/);
  assert.equal(await page.locator('table.data tbody tr').count(), 5);
  await axe(page, 'oefenen uitslag');
  await shot(page, 'oefenen-uitslag');
  await page.close();
});

test('Zaalmodus: the trainer shows a message large and reveals the answer with the space bar', async () => {
  const page = await context.newPage();
  await login(page, classifyToken);
  await page.goto(`${base}/zaal`);
  await axe(page, 'zaal start');
  await page.getByRole('link', { name: 'Start met gevorderd' }).click();
  assert.equal(await page.getByTestId('answer').count(), 0, 'no answer before the reveal');
  await axe(page, 'zaal bericht');
  await shot(page, 'zaal-bericht');
  await Promise.all([page.waitForURL(/toon=1/), page.keyboard.press('Space')]);
  assert.ok(['Klacht', 'Melding', 'Bezwaar', 'Raadsadres', 'Overig'].includes(await page.getByTestId('answer').innerText()));
  await axe(page, 'zaal onthuld');
  await shot(page, 'zaal-onthuld');
  await Promise.all([page.waitForURL(/i=1/), page.keyboard.press('ArrowRight')]);
  await page.close();
});

test('Leren: a key without admin is refused; the report of a filled store shows aggregates only', async () => {
  const page = await context.newPage();
  await login(page, classifyToken);
  const denied = await page.goto(`${base}/leren`);
  assert.equal(denied.status(), 403);
  // Fill the store through the Herkennen form, routed into the queues: six people about the
  // same street (with house numbers and postcodes), and one person three times.
  await page.goto(`${base}/`);
  const csrf = await page.locator('input[name=csrf]').first().inputValue();
  const messages = [];
  for (let i = 1; i <= 6; i++) {
    messages.push({ kanaal: 'webformulier', tekst: `De lantaarnpaal voor Merelstraat ${10 + i} in 1234 AB is kapot sinds gisteren.`, afzender: `bewoner${i}@example.nl` });
  }
  for (let i = 0; i < 5; i++) {
    messages.push({
      kanaal: 'telefoon',
      tekst: `Burger: Ik wacht al ${i + 3} weken op een reactie op mijn aanvraag voor een parkeervergunning. Ik ben twee keer beloofd dat ik teruggebeld zou worden en er gebeurt niets. Dit duurt echt te lang.`,
      afzender: `06-1234567${i}`,
    });
  }
  for (let i = 0; i < 3; i++) {
    messages.push({
      kanaal: 'email',
      tekst: `Ik heb het gat in het wegdek van de Kastanjelaan 7, 4321 ZX al ${i + 1} keer gemeld en ik ben nooit teruggebeld. Dit is echt te lang.`,
      afzender: 'piet.de.vries@example.nl',
    });
  }
  messages.push({ kanaal: 'brief', tekst: 'Hierbij maak ik bezwaar tegen de WOZ-beschikking met kenmerk 2026-17, mijn huis is te hoog gewaardeerd.', afzender: '06-12345678' });
  for (const m of messages) {
    const r = await page.request.post(`${base}/`, { form: { csrf, wachtrij: 'ja', ...m } });
    assert.equal(r.status(), 200);
    assert.match(await r.text(), /In de wachtrij/);
  }
  await page.close();

  const admin = await context.newPage();
  await login(admin, adminToken);
  // A key for the report alone lands on Leren, and its menu offers nothing else.
  assert.equal(new URL(admin.url()).pathname, '/leren');
  assert.deepEqual(await admin.locator('nav a').allInnerTexts(), ['Leren']);
  assert.match(await admin.locator('h1').innerText(), /Leren/);
  const text = await admin.locator('main').innerText();
  const html = await admin.content();
  assert.match(text, /Merelstraat/, 'the street with six reports is a hotspot');
  assert.doesNotMatch(text, /Kastanjelaan/, 'a street with fewer than 5 reports is left out');
  for (const s of [...messages.map((m) => m.tekst), ...messages.map((m) => m.afzender), 'bewoner1', 'example.nl', '12345678']) {
    assert.ok(!html.includes(s), `the report shows ${s}`);
  }
  assert.doesNotMatch(html, /\b\d{4}\s?[A-Z]{2}\b/i, 'no postcode');
  assert.doesNotMatch(html, /(Merelstraat|Kastanjelaan)\s+\d/i, 'no house number');
  assert.match(text, /<5/, 'small counts are suppressed');
  assert.ok(await admin.locator('svg.chart').count() >= 3, 'charts as inline SVG');
  await axe(admin, 'leren');
  await shot(admin, 'leren');
  // Exports: the same aggregates.
  const json = await (await admin.request.get(`${base}/leren.json`)).json();
  assert.equal(json.min_count, 5);
  assert.equal(json.routed, messages.length);
  assert.ok(json.hotspots.some((h) => h.place === 'Merelstraat' && h.reports === 6));
  const csv = await (await admin.request.get(`${base}/leren.csv`)).text();
  assert.match(csv, /^section,key,count,detail\n/);
  assert.match(csv, /hotspot,Merelstraat,6/);
  for (const s of ['1234 ', '1234AB', 'piet', 'lantaarnpaal', 'example.nl']) assert.ok(!csv.includes(s), `the CSV shows ${s}`);
  await admin.close();
});

test('herken report: the same aggregates from the store as JSON and as one self-contained HTML file', async () => {
  const file = path.join(artifacts, 'herken-report.html');
  execFileSync(bin, ['report', '--html', file], { env: serverEnv, cwd: data });
  const json = JSON.parse(execFileSync(bin, ['report', '--json'], { env: serverEnv, cwd: data, encoding: 'utf8' }));
  assert.equal(json.routed, 15);
  assert.ok(json.hotspots.some((h) => h.place === 'Merelstraat' && h.reports === 6));
  const html = fs.readFileSync(file, 'utf8');
  assert.doesNotMatch(html, /<link|<script|src=|https?:\/\//, 'nothing loaded from elsewhere');
  const body = html.slice(html.indexOf('<body'));
  assert.doesNotMatch(body, /\b\d{4}\s?[A-Z]{2}\b|example\.nl|lantaarnpaal/i);
  const page = await context.newPage();
  await page.goto(`file://${file}`);
  assert.equal(await page.locator('h1').innerText(), 'Leren van klachten');
  assert.ok(await page.locator('svg.chart').count() >= 3);
  await axe(page, 'herken report --html');
  await shot(page, 'herken-report');
  await page.close();
});
