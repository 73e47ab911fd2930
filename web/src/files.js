// Browse: the files under a prefix, a page at a time (GET /files/), and
// upload by dropping files anywhere on the view (PUT, with progress).
import {listFiles, upload} from './api.js';
import {h, fill, humanSize, humanTime, errorBox} from './dom.js';

const PAGE = 100;

function fileLink(path) {
	return h('a', {href: '#/file/' + encodeURIComponent(path), class: 'path'}, path);
}

export function showFiles(el, params) {
	const prefix = params.get('prefix') || '';
	const after = params.get('after') || '';
	// The pages before this one, so "previous" needs no backward listing.
	const back = params.getAll('back');
	const prefixInput = h('input', {type: 'search', id: 'prefix', value: prefix,
		placeholder: 'prefix, e.g. photos/', size: 40});
	const list = h('div', {id: 'file-list'}, h('p', {class: 'muted'}, 'Loading…'));
	const uploads = h('ul', {id: 'uploads'});
	const picker = h('input', {type: 'file', multiple: true, id: 'picker', hidden: true,
		onchange: () => startUploads([...picker.files])});
	const drop = h('div', {id: 'dropzone', class: 'dropzone'},
		'Drop files here to upload them under ', h('code', {}, prefix || '/'), ', or ',
		h('button', {type: 'button', onclick: () => picker.click()}, 'choose files'), '.',
		picker);

	function hashFor(p, a, b) {
		const q = new URLSearchParams();
		if (p)
			q.set('prefix', p);
		if (a)
			q.set('after', a);
		for (const x of b)
			q.append('back', x);
		const s = q.toString();
		return '#/files' + (s ? '?' + s : '');
	}

	async function load() {
		let j;
		try {
			j = await listFiles(prefix, after, PAGE);
		} catch (e) {
			fill(list, errorBox('cannot list files: ' + e.message));
			return;
		}
		const rows = j.files.map((f) => h('tr', {},
			h('td', {}, fileLink(f.path)),
			h('td', {class: 'num'}, humanSize(f.size)),
			h('td', {}, f.content_type || ''),
			h('td', {}, humanTime(f.mtime))));
		const nav = h('p', {class: 'pager'},
			after ? h('a', {href: hashFor(prefix, back[back.length - 1] || '',
				back.slice(0, -1)), id: 'prev'}, '\u2190 previous') : null, ' ',
			j.next ? h('a', {href: hashFor(prefix, j.next, [...back, after]), id: 'next'},
				'next \u2192') : null);
		fill(list, j.files.length ?
			h('table', {class: 'files'},
				h('thead', {}, h('tr', {}, h('th', {}, 'Path'), h('th', {}, 'Size'),
					h('th', {}, 'Type'), h('th', {}, 'Modified'))),
				h('tbody', {}, rows)) :
			h('p', {class: 'muted', id: 'empty'}, prefix ? 'No file under ' + prefix + '.' :
				'No files yet: drop some here.'),
		nav);
	}

	async function startUploads(files) {
		let any = false;
		for (const f of files) {
			const path = prefix.replace(/^\/+/, '') + f.name;
			const bar = h('progress', {max: 1, value: 0});
			const status = h('span', {class: 'status'}, 'uploading');
			const li = h('li', {dataset: {path}}, h('code', {}, path), ' ', bar, ' ', status);
			uploads.append(li);
			try {
				await upload(path, f, (done, total) => {
					bar.max = total;
					bar.value = done;
				});
				bar.value = bar.max;
				status.textContent = 'done';
				li.classList.add('done');
				any = true;
			} catch (e) {
				status.textContent = 'failed: ' + e.message;
				li.classList.add('failed');
			}
		}
		if (any)
			load();
	}

	// Anywhere on the view: the drop zone only shows where.
	el.addEventListener('dragover', (e) => {
		e.preventDefault();
		drop.classList.add('over');
	});
	el.addEventListener('dragleave', () => drop.classList.remove('over'));
	el.addEventListener('drop', (e) => {
		e.preventDefault();
		drop.classList.remove('over');
		if (e.dataTransfer && e.dataTransfer.files.length)
			startUploads([...e.dataTransfer.files]);
	});

	fill(el,
		h('h1', {}, 'Files'),
		h('form', {class: 'row', onsubmit: (e) => {
			e.preventDefault();
			location.hash = hashFor(prefixInput.value.trim(), '', []);
		}}, prefixInput, ' ', h('button', {type: 'submit'}, 'List')),
		drop, uploads, list);
	load();
	return {};
}
