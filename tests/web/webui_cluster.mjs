// Drives the web UI's Cluster page in Debian's headless Chromium through
// playwright-core, as tests/web/test_webui_cluster.sh sets it up: a
// cluster whose host at $URL owns background work, its admin key in $KEY,
// a read key in $READ_KEY, and the pid of host $KILL_HOST in $KILL_PID,
// which this driver kills (SIGKILL) to watch the page show it down and
// repair's short chunks rise, then fall back to 0. Prints one "PASS: " or
// "FAIL: " line per check (tests/lib.sh's format), exits 1 if any failed.
//
// Env: URL, KEY, READ_KEY, HOSTS (the ids, space-separated), KILL_HOST,
// KILL_PID, NPM_DIR, WAIT_S (seconds a host may take to be down and
// repaired), SHOT (the page's screenshot).
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {pass, fail, same, step, failed} from './checks.mjs';

const require = createRequire(join(process.env.NPM_DIR, 'package.json'));
const {chromium} = require('playwright-core');

const URL = process.env.URL, KEY = process.env.KEY, READ_KEY = process.env.READ_KEY;
const HOSTS = process.env.HOSTS.split(' '), KILL_HOST = process.env.KILL_HOST;
const LONG = 1000 * Number(process.env.WAIT_S || 120);
const T = 15000;	// a step's wait: a busy machine is slow

const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await (await browser.newContext({viewport: {width: 1280, height: 900}})).newPage();
page.setDefaultTimeout(T);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
await page.addInitScript(() => {
	// The repair figure #ID as a number (NaN if not shown), for the waits.
	window.figure = (id) => Number(document.getElementById(id)?.textContent ?? NaN);
	window.cspViolations = [];
	document.addEventListener('securitypolicyviolation', (e) =>
		window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
});

async function signIn(key) {
	await page.goto(URL + '/#/signin');
	await page.locator('#key').waitFor();
	await page.fill('#key', key);
	await page.click('#signin');
	await page.locator('#file-list').waitFor();
}

try {
	// ---- a read key: no Cluster page ----
	await step('a read key signs in', () => signIn(READ_KEY));
	await page.waitForTimeout(1000);	/* the admin probe's answer */
	same('... and the Cluster link stays hidden', await page.locator('#nav-cluster').isVisible(),
		false);
	await page.goto(URL + '/#/cluster');
	await step('... and #/cluster says it needs an admin key', () =>
		page.locator('#cluster .error', {hasText: 'needs an admin key'}).waitFor());
	await page.click('#signout');

	// ---- the admin key: the hosts and repair's figures ----
	await step('the admin key signs in and the Cluster link shows', async () => {
		await signIn(KEY);
		await page.locator('#nav-cluster').waitFor({state: 'visible'});
	});
	await page.click('#nav-cluster');
	await step(`the Cluster page lists ${HOSTS.join(', ')}, every one up`, () =>
		page.waitForFunction((ids) => ids.every((id) => document.querySelector(
			`#hosts tr[data-host="${id}"] .host-up`)?.textContent === 'up') &&
			document.querySelectorAll('#hosts tbody tr').length === ids.length, HOSTS));
	same('... with each host\'s address, zone and transport', await page.locator(
		`#hosts tr[data-host="${HOSTS[0]}"] td`).allTextContents().then((t) => t.slice(1).join('|')),
	process.env.ROW0);
	await step('repair\'s figures show no chunk short, misplaced or lost', () =>
		page.waitForFunction(() => figure('repair-short') === 0 &&
			figure('repair-misplaced') === 0 && figure('repair-lost') === 0, null,
		{timeout: LONG}));
	const copied0 = await page.evaluate(() => figure('repair-copied'));

	// ---- a host killed ----
	process.kill(Number(process.env.KILL_PID), 'SIGKILL');
	await step(`${KILL_HOST} killed: the page shows it down`, () => page.waitForFunction(
		(id) => document.querySelector(`#hosts tr[data-host="${id}"] .host-up`)?.textContent ===
			'down', KILL_HOST, {timeout: LONG}));
	await step('... and chunks short of copies (> 0)', () => page.waitForFunction(() =>
		figure('repair-short') > 0, null, {timeout: LONG, polling: 200}));
	await step('... then, repaired, 0 short again and copies made', () => page.waitForFunction(
		(c0) => figure('repair-short') === 0 && figure('repair-copied') > c0, copied0,
		{timeout: LONG}));
	same('... none lost, none failed', await page.evaluate(() =>
		[figure('repair-lost'), figure('repair-failed')].join(' ')), '0 0');
	same('... and the last whole pass is shown', await page.evaluate(() =>
		/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(
			document.getElementById('repair-last-pass').textContent)), true);

	if (process.env.SHOT)
		await step('a screenshot of the Cluster page is saved', () =>
			page.screenshot({path: process.env.SHOT, fullPage: true}));
	same('no script error in the page', pageErrors.join('; '), '');
	same('no CSP violation in the page', (await page.evaluate(() => window.cspViolations))
		.join('; '), '');
} catch (e) {
	fail('the browser run', e.stack || e.message);
}
await browser.close();
process.exit(failed());
