// A file's page: what it is, its tags (add, remove), files related to it,
// a download link and a preview of images and text.
import {headFile, fileStart, fileTags, changeTags, relatedFiles, readableUrl,
	ApiError} from './api.js';
import {h, fill, humanSize, tagText, errorBox} from './dom.js';
import {attachCompletion} from './complete.js';

const TEXT_PREVIEW = 64 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-sh|x-yaml|toml))/;

function fileLink(path) {
	return h('a', {href: '#/file/' + encodeURIComponent(path), class: 'path'}, path);
}

export function showFile(el, path) {
	const info = h('div', {id: 'file-info'}, h('p', {class: 'muted'}, 'Loading…'));
	const tags = h('div', {id: 'tags'}, h('p', {class: 'muted'}, 'Loading tags…'));
	const related = h('div', {id: 'related'}, h('p', {class: 'muted'}, 'Loading…'));
	const preview = h('div', {id: 'preview'});
	const tagInput = h('input', {type: 'text', id: 'tag-input', size: 30,
		placeholder: 'tag or name=value'});
	const tagMsg = h('div', {id: 'tag-msg'});

	async function loadInfo() {
		let r;
		try {
			r = await headFile(path);
		} catch (e) {
			fill(info, errorBox('cannot reach dgfsd: ' + e.message));
			return;
		}
		if (!r.ok) {
			fill(info, errorBox(r.status === 404 ? 'No such file.' : 'HTTP ' + r.status));
			return;
		}
		const type = (r.headers.get('Content-Type') || '').toLowerCase();
		const size = Number(r.headers.get('Content-Length'));
		const download = h('a', {id: 'download', download: path.split('/').pop()}, 'Download');
		fill(info, h('dl', {},
			h('dt', {}, 'Size'), h('dd', {}, humanSize(size)),
			h('dt', {}, 'Type'), h('dd', {id: 'type'}, type || '?'),
			h('dt', {}, 'ETag'), h('dd', {}, r.headers.get('ETag') || '')),
		h('p', {}, download, ' \u00b7 ',
			h('a', {href: '#/graph?file=' + encodeURIComponent(path)}, 'Show in the graph')));
		let url;
		try {
			url = await readableUrl(path);
		} catch (e) {
			fill(preview, errorBox('cannot make a download link: ' + e.message));
			return;
		}
		download.href = url;
		if (type.startsWith('image/')) {
			fill(preview, h('h2', {}, 'Preview'),
				h('img', {src: url, alt: path, id: 'preview-image'}));
		} else if (TEXT_TYPES.test(type)) {
			try {
				const bytes = await fileStart(path, TEXT_PREVIEW);
				const text = new TextDecoder('utf-8', {fatal: false}).decode(bytes);
				fill(preview, h('h2', {}, 'Preview'),
					h('pre', {id: 'preview-text'}, text),
					size > TEXT_PREVIEW ? h('p', {class: 'muted'},
						'The first ' + humanSize(TEXT_PREVIEW) + ' of ' +
						humanSize(size) + '.') : null);
			} catch (e) {
				fill(preview, errorBox('cannot read the file: ' + e.message));
			}
		} else {
			fill(preview, h('p', {class: 'muted'}, 'No preview for ' + (type || 'this type') + '.'));
		}
	}

	async function loadTags() {
		let j;
		try {
			j = await fileTags(path);
		} catch (e) {
			fill(tags, errorBox('cannot read the tags: ' + e.message));
			return;
		}
		const chips = j.tags.map((t) => {
			const text = tagText(t);
			return h('li', {class: 'tag ' + (t.source === 'user' ? 'user' : 'auto'),
				dataset: {tag: text}, title: t.source + ' tag'},
			h('a', {href: '#/search?q=' + encodeURIComponent(text)}, text),
			h('button', {type: 'button', class: 'remove', title: 'remove ' + text,
				'aria-label': 'remove ' + text, onclick: () => edit([], [text])}, '\u00d7'));
		});
		fill(tags, chips.length ? h('ul', {class: 'tags'}, chips) :
			h('p', {class: 'muted', id: 'no-tags'}, 'No tags (yet: automatic tags come ' +
				'shortly after an upload).'));
	}

	async function edit(add, remove) {
		fill(tagMsg);
		try {
			await changeTags(path, add, remove);
		} catch (e) {
			fill(tagMsg, errorBox(e instanceof ApiError && e.status === 403 ?
				'changing tags needs a write key: ' + e.message : e.message));
			return false;
		}
		await loadTags();
		loadRelated();
		return true;
	}

	async function loadRelated() {
		let j;
		try {
			j = await relatedFiles(path);
		} catch (e) {
			fill(related, errorBox('cannot find related files: ' + e.message));
			return;
		}
		fill(related, j.files.length ? h('ol', {}, j.files.map((f) => h('li', {},
			fileLink(f.path), ' ', h('span', {class: 'muted'},
				typeof f.score === 'number' ? f.score.toFixed(2) : '')))) :
			h('p', {class: 'muted'}, 'Nothing related yet.'));
	}

	fill(el,
		h('h1', {class: 'path', id: 'file-path'}, path),
		info,
		h('h2', {}, 'Tags'), tags,
		h('form', {class: 'row', id: 'tag-form', onsubmit: async (e) => {
			e.preventDefault();
			const add = tagInput.value.split(/\s+/).filter(Boolean);
			if (add.length && await edit(add, []))
				tagInput.value = '';
		}}, tagInput, ' ', h('button', {type: 'submit', id: 'tag-add'}, 'Add tags')),
		tagMsg,
		preview,
		h('h2', {}, 'Related files'), related);
	attachCompletion(tagInput);
	loadInfo();
	loadTags();
	loadRelated();
	return {};
}
