// Drives dgfs's web UI in Debian's headless Chromium through playwright-core
// (from build/web-npm, never a browser of its own), as tests/web/test_webui.sh
// sets it up: dgfsd at $URL, the admin key in $KEY, the files to upload in
// $FILES. Prints one "PASS: " or "FAIL: " line per check (tests/lib.sh's
// format) and exits 1 if any failed.
//
// Env: URL, KEY, FILES (dir: notes.txt, big.bin, pic.png, PIC_W), NPM_DIR,
// SHOT (the graph's screenshot), PHASE ("all", or "base": no tag, search
// or graph checks).
import {createRequire} from 'node:module';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {pass, fail, same, step, failed} from './checks.mjs';

const require = createRequire(join(process.env.NPM_DIR, 'package.json'));
const {chromium} = require('playwright-core');

const URL = process.env.URL, KEY = process.env.KEY, FILES = process.env.FILES;
const T = 15000;	// a step's wait: dgfsd-asan and a busy machine are slow

// Drops @files ([{name, type, b64}]) on the drop zone, as a user's drag does.
async function dropFiles(page, files) {
	await page.evaluate((files) => {
		const dt = new DataTransfer();
		for (const f of files) {
			const bin = atob(f.b64);
			const bytes = new Uint8Array(bin.length);
			for (let i = 0; i < bin.length; i++)
				bytes[i] = bin.charCodeAt(i);
			dt.items.add(new File([bytes], f.name, {type: f.type}));
		}
		const zone = document.getElementById('dropzone');
		for (const type of ['dragenter', 'dragover', 'drop'])
			zone.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true,
				cancelable: true}));
	}, files);
}

const fileOf = (name, type) => ({name, type,
	b64: readFileSync(join(FILES, name)).toString('base64')});

const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	// No sandbox as root; nothing of Chromium's own reaches for the network.
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({acceptDownloads: true,
	viewport: {width: 1280, height: 900}});
const page = await context.newPage();
page.setDefaultTimeout(T);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
// CSP violations, counted in the page (the CSP allows only self).
await page.addInitScript(() => {
	window.cspViolations = [];
	document.addEventListener('securitypolicyviolation', (e) =>
		window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
});

try {
	// ---- sign-in ----
	await page.goto(URL + '/');
	await step('the page loads and asks for a key', () =>
		page.locator('#key').waitFor());
	await page.fill('#key', 'dgfs_nosuchkey0000');
	await page.click('#signin');
	await step('a wrong key is refused, with dgfsd\'s reason', () =>
		page.locator('#signin-msg .error', {hasText: 'refused'}).waitFor());
	same('... and not kept', await page.evaluate(() =>
		sessionStorage.getItem('dgfs-api-key') ?? localStorage.getItem('dgfs-api-key')), null);
	await page.fill('#key', KEY);
	await page.click('#signin');
	await step('the right key signs in: the file list', () =>
		page.locator('#file-list a.path', {hasText: 'many/f000'}).waitFor());
	same('... the key is kept for this tab only', await page.evaluate(() =>
		[sessionStorage.getItem('dgfs-api-key'), localStorage.getItem('dgfs-api-key')]).then(
		(v) => JSON.stringify(v)), JSON.stringify([KEY, null]));

	// ---- upload by drop, under a prefix ----
	await page.goto(URL + '/#/files?prefix=up/');
	await step('a prefix with no files says so', () => page.locator('#empty').waitFor());
	const big = readFileSync(join(FILES, 'big.bin'));
	await dropFiles(page, [fileOf('notes.txt', 'text/plain'),
		fileOf('big.bin', 'application/octet-stream'), fileOf('pic.png', 'image/png')]);
	await step('three dropped files upload (each says done)', () =>
		page.locator('#uploads li.done').nth(2).waitFor());
	same('the big upload\'s progress bar ran to the file\'s size (upload progress events)',
		await page.locator('#uploads li[data-path="up/big.bin"] progress').evaluate(
			(p) => p.max + '/' + p.value), big.length + '/' + big.length);
	await step('the list shows the uploaded files', async () => {
		for (const n of ['up/notes.txt', 'up/big.bin', 'up/pic.png'])
			await page.locator('#file-list a.path', {hasText: n}).waitFor();
	});

	// ---- paging (test_webui.sh stored 105 files under many/) ----
	await page.goto(URL + '/#/files?prefix=many/');
	await step('a prefix\'s first page has 100 files and a next link', async () => {
		await page.locator('#next').waitFor();
		same('... 100 rows', await page.locator('#file-list tbody tr').count(), 100);
	});
	await page.click('#next');
	await step('the next page has the other 5, and a previous link', async () => {
		await page.locator('#prev').waitFor();
		await page.waitForFunction(() =>
			document.querySelectorAll('#file-list tbody tr').length === 5);
	});
	same('... the last of them is many/f104', await page.locator('#file-list a.path').last()
		.textContent(), 'many/f104');
	await page.click('#prev');
	await step('previous goes back to the first 100', () => page.waitForFunction(() =>
		document.querySelectorAll('#file-list tbody tr').length === 100 &&
		document.querySelector('#file-list a.path').textContent === 'many/f000'));

	// ---- a file's page: preview, download ----
	await page.goto(URL + '/#/files?prefix=up/');
	await page.locator('#file-list a.path', {hasText: 'up/notes.txt'}).click();
	await step('its link opens the file\'s page', () =>
		page.locator('#file-path', {hasText: 'up/notes.txt'}).waitFor());
	const notes = readFileSync(join(FILES, 'notes.txt'), 'utf8');
	await step('a text file\'s preview shows its text', async () => {
		await page.locator('#preview-text').waitFor();
		same('... the whole of it', await page.locator('#preview-text').textContent(), notes);
	});
	await step('the download link gives the file', async () => {
		const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
		const got = readFileSync(await dl.path(), 'utf8');
		if (got !== notes)
			throw new Error('downloaded ' + got.length + ' bytes, not the file');
		if (dl.suggestedFilename() !== 'notes.txt')
			throw new Error('named ' + dl.suggestedFilename());
	});
	await page.goto(URL + '/#/file/up%2Fpic.png');
	await step('an image\'s preview shows it, at its size', async () => {
		await page.waitForFunction(() => {
			const img = document.getElementById('preview-image');
			return img && img.complete && img.naturalWidth > 0;
		});
		same('... width', await page.locator('#preview-image').evaluate((i) => i.naturalWidth),
			Number(process.env.PIC_W));
	});

	if (process.env.PHASE !== 'base') {
		// ---- tags (GET/POST /files/{path}?tags, GET /tags) ----
		await page.goto(URL + '/#/file/up%2Fnotes.txt');
		await step('the file\'s automatic tags show (type=text), within 30 s', async () => {
			const end = Date.now() + 30000;
			for (;;) {
				if (await page.locator('#tags li.tag.auto[data-tag="type=text"]').count())
					return;
				if (Date.now() > end)
					throw new Error('tags shown: ' + (await page.locator('#tags').textContent()));
				await page.waitForTimeout(1000);
				await page.reload();
				await page.locator('#tags ul, #tags p').first().waitFor();
			}
		});
		await step('user tags added on the page show as user tags', async () => {
			await page.fill('#tag-input', 'webui-test to-remove');
			await page.click('#tag-add');
			await page.locator('#tags li.tag.user[data-tag="webui-test"]').waitFor();
			await page.locator('#tags li.tag.user[data-tag="to-remove"]').waitFor();
		});
		await step('removing one takes it away, the other stays', async () => {
			await page.locator('#tags li[data-tag="to-remove"] button.remove').click();
			await page.locator('#tags li[data-tag="to-remove"]').waitFor({state: 'detached'});
			await page.locator('#tags li[data-tag="webui-test"]').waitFor();
		});

		// ---- search (GET /search) with autocompletion (GET /tags) ----
		await page.goto(URL + '/#/search');
		await step('typing a tag\'s start offers it', async () => {
			await page.locator('#query').pressSequentially('webui-t', {delay: 30});
			await page.locator('ul.completions li', {hasText: 'webui-test'}).waitFor();
		});
		await page.keyboard.press('Enter');	/* takes the completion */
		same('... Enter takes it', await page.inputValue('#query'), 'webui-test');
		await step('searching for the tag finds the file', async () => {
			await page.fill('#query', 'webui-test');
			await page.click('#search-go');
			await page.locator('#results a.path', {hasText: 'up/notes.txt'}).waitFor();
		});
		await step('a bad query shows dgfsd\'s error and where', async () => {
			await page.fill('#query', 'webui-test (');
			await page.click('#search-go');
			await page.locator('#query-error').waitFor();
		});

		// ---- graph (GET /graph), click to expand ----
		await page.goto(URL + '/#/graph?tag=webui-test');
		const shown = await step('the graph of the tag shows it and its file', () =>
			page.waitForFunction(() => window.dgfsGraph &&
				window.dgfsGraph.nodes('[kind = "file"]').length >= 1 &&
				window.dgfsGraph.nodes('[kind = "tag"]').length >= 1));
		await step('clicking the file\'s node expands it: its other tags join', async () => {
			if (!shown)
				throw new Error('no graph to click in');
			const before = await page.evaluate(() => window.dgfsGraph.nodes().length);
			// A real click where the file's node is drawn.
			const at = await page.evaluate(() => {
				const cy = window.dgfsGraph;
				const n = cy.nodes('[kind = "file"]')[0];
				const box = cy.container().getBoundingClientRect();
				const p = n.renderedPosition();
				return {x: box.left + p.x, y: box.top + p.y};
			});
			await page.mouse.click(at.x, at.y);
			await page.waitForFunction((n) => window.dgfsGraph.nodes().length > n &&
				window.dgfsGraph.nodes('.expanded[kind = "file"]').length >= 1, before);
		});
		await page.waitForTimeout(300);	/* the layout's last frame */
		await step('a screenshot of the graph is saved', () =>
			page.locator('#graph').screenshot({path: process.env.SHOT}));
	}

	same('no script error in the page', pageErrors.join('; '), '');
	same('no CSP violation in the page', (await page.evaluate(() => window.cspViolations))
		.join('; '), '');
} catch (e) {
	fail('the browser run', e.stack || e.message);
}
await browser.close();
process.exit(failed());
