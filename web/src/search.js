// Search in dgfsd's query language (docs/SEARCH.md): tags, name=value,
// comparisons, free words, AND/OR/NOT and parentheses; tag names complete
// as they are typed. A bad query shows where dgfsd stopped understanding it.
import {search} from './api.js';
import {h, fill, tagText, errorBox} from './dom.js';
import {attachCompletion} from './complete.js';

export function showSearch(el, params) {
	const q = params.get('q') || '';
	const after = params.get('after') || '';
	const input = h('input', {type: 'search', id: 'query', value: q, size: 60,
		placeholder: 'type=image year>=2020 -draft "free words"'});
	const results = h('div', {id: 'results'});

	function hashFor(query, a) {
		const p = new URLSearchParams({q: query});
		if (a)
			p.set('after', a);
		return '#/search?' + p.toString();
	}

	async function run() {
		if (!q.trim()) {
			fill(results, h('p', {class: 'muted'}, 'Examples: ', h('code', {}, 'type=image'), ', ',
				h('code', {}, 'lang=en report'), ', ', h('code', {}, 'year>=2020 -draft'), ', ',
				h('code', {}, '(cat OR dog) size>1M'), '.'));
			return;
		}
		fill(results, h('p', {class: 'muted'}, 'Searching…'));
		let j;
		try {
			j = await search(q, after);
		} catch (e) {
			const pos = e.body && typeof e.body.position === 'number' ? e.body.position : null;
			fill(results, errorBox((e.status === 400 ? 'bad query: ' : 'search failed: ') +
				e.message),
			pos === null ? null : h('pre', {class: 'query-error', id: 'query-error'},
				q + '\n' + ' '.repeat(Math.max(0, Math.min(pos, q.length))) + '^'));
			return;
		}
		const rows = j.files.map((f) => h('tr', {},
			h('td', {}, h('a', {href: '#/file/' + encodeURIComponent(f.path), class: 'path'},
				f.path)),
			h('td', {class: 'num'}, typeof f.score === 'number' ? f.score.toFixed(3) : ''),
			h('td', {}, h('ul', {class: 'tags small'}, (f.tags || []).slice(0, 12).map((t) =>
				h('li', {class: 'tag'}, tagText(t)))))));
		fill(results, j.files.length ?
			h('table', {class: 'files'}, h('thead', {}, h('tr', {}, h('th', {}, 'Path'),
				h('th', {}, 'Score'), h('th', {}, 'Tags'))), h('tbody', {}, rows)) :
			h('p', {class: 'muted', id: 'no-results'}, 'Nothing matches.'),
		h('p', {class: 'pager'}, after ? h('a', {href: hashFor(q, '')}, '\u2190 first page') :
			null, ' ', j.next ? h('a', {href: hashFor(q, j.next), id: 'next'}, 'next \u2192') :
			null));
	}

	fill(el, h('h1', {}, 'Search'),
		h('form', {class: 'row', id: 'search-form', onsubmit: (e) => {
			e.preventDefault();
			location.hash = hashFor(input.value.trim(), '');
		}}, input, ' ', h('button', {type: 'submit', id: 'search-go'}, 'Search')),
		results);
	attachCompletion(input);
	input.focus();
	run();
	return {};
}
