// Tag autocompletion for an input holding a query or a list of tags: the
// word at the caret (without a leading '-', '(' or "NOT ") is looked up
// with GET /tags?prefix= and offered in a list under the input; arrows
// move, Enter or Tab takes one, Escape closes it.
import {tagsStartingWith} from './api.js';
import {h, fill, tagText} from './dom.js';

// The word at @pos in @s: [start, end) and the text, its prefix marks skipped.
function wordAt(s, pos) {
	let start = pos, end = pos;
	while (start > 0 && !/[\s()]/.test(s[start - 1]))
		start--;
	while (end < s.length && !/[\s()]/.test(s[end]))
		end++;
	if (s[start] === '-')
		start++;
	return {start, end, text: s.slice(start, pos)};
}

export function attachCompletion(input) {
	const box = h('ul', {class: 'completions', role: 'listbox', hidden: true});
	const wrap = h('span', {class: 'complete-wrap'});
	input.replaceWith(wrap);
	wrap.append(input, box);
	input.setAttribute('autocomplete', 'off');
	let items = [], active = -1, seq = 0, word = null;

	function close() {
		box.hidden = true;
		items = [];
		active = -1;
	}

	function choose(i) {
		const t = items[i];
		if (!t || !word)
			return;
		const s = input.value;
		input.value = s.slice(0, word.start) + t + s.slice(word.end);
		const caret = word.start + t.length;
		input.setSelectionRange(caret, caret);
		close();
		input.focus();
	}

	function show() {
		fill(box, items.map((t, i) => h('li', {role: 'option', class: i === active ? 'active' : '',
			onmousedown: (e) => {
				e.preventDefault();	/* keep the focus in the input */
				choose(i);
			}}, t)));
		box.hidden = !items.length;
	}

	input.addEventListener('input', async () => {
		word = wordAt(input.value, input.selectionStart ?? input.value.length);
		const my = ++seq;
		if (!word.text || word.text.toUpperCase() === 'OR' || word.text.toUpperCase() === 'NOT') {
			close();
			return;
		}
		let j;
		try {
			j = await tagsStartingWith(word.text);
		} catch {
			j = null;
		}
		if (my !== seq)
			return;		/* typed on meanwhile */
		items = j && Array.isArray(j.tags) ? j.tags.map(tagText) : [];
		active = items.length ? 0 : -1;
		show();
	});
	input.addEventListener('keydown', (e) => {
		if (box.hidden)
			return;
		if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
			e.preventDefault();
			active = (active + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
			show();
		} else if (e.key === 'Enter' || e.key === 'Tab') {
			if (active >= 0) {
				e.preventDefault();
				choose(active);
			}
		} else if (e.key === 'Escape') {
			close();
		}
	});
	input.addEventListener('blur', () => setTimeout(close, 100));
	return input;
}
