// Small DOM helpers. Text always goes in as text (textContent), never as
// markup: file names, tags and contents are whatever a user stored.

// h('a', {href: x, class: 'c', onclick: f}, child...): an element.
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k.startsWith('on'))
			el.addEventListener(k.slice(2), v);
		else if (k === 'class')
			el.className = v;
		else if (k === 'dataset')
			Object.assign(el.dataset, v);
		else if (v === true)
			el.setAttribute(k, '');
		else
			el.setAttribute(k, v);
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === undefined || c === null || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

// Replaces everything in @el with @children.
export function fill(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

export function humanSize(n) {
	if (typeof n !== 'number')
		return '';
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (n >= 1024 && i < units.length - 1) {
		n /= 1024;
		i++;
	}
	return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
}

export function humanTime(unix) {
	if (typeof unix !== 'number')
		return '';
	return new Date(unix * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

// A tag as the API gives it ({name, value}, or a string) as text.
export function tagText(t) {
	if (typeof t === 'string')
		return t;
	return t.value === null || t.value === undefined || t.value === '' ?
		t.name : t.name + '=' + t.value;
}

export function errorBox(msg) {
	return h('p', {class: 'error', role: 'alert'}, msg);
}
