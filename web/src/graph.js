// The graph of files and tags (GET /graph), drawn with cytoscape on a
// canvas. Clicking a node expands it: its neighbours are fetched and
// added, and the layout runs again. Labels are drawn only when they would
// be legible (min-zoomed-font-size), and edges are dropped while panning,
// so a few hundred nodes stay readable and smooth.
import cytoscape from './vendor/cytoscape.mjs';
import {graph} from './api.js';
import {h, fill, errorBox} from './dom.js';
import {attachCompletion} from './complete.js';

// What to ask /graph about a node: {file: PATH} or {tag: TAG}. Node ids
// are "file:PATH" and "tag:TAG"; a bare id is taken as it is.
export function nodeQuery(n) {
	const id = String(n.id);
	if (n.kind === 'file')
		return {file: id.startsWith('file:') ? id.slice(5) : id};
	return {tag: id.startsWith('tag:') ? id.slice(4) : (n.label ?? id)};
}

const STYLE = [
	{selector: 'node', style: {
		'label': 'data(label)', 'font-size': 10, 'min-zoomed-font-size': 9,
		'text-valign': 'bottom', 'text-margin-y': 3, 'color': '#223',
		'text-max-width': 120, 'text-wrap': 'ellipsis',
		'width': 14, 'height': 14}},
	{selector: 'node[kind = "file"]', style: {
		'shape': 'round-rectangle', 'background-color': '#24577a'}},
	{selector: 'node[kind = "tag"]', style: {
		'shape': 'ellipse', 'background-color': '#f3b04a'}},
	{selector: 'node.expanded', style: {'border-width': 2, 'border-color': '#111'}},
	{selector: 'node.start', style: {'width': 22, 'height': 22}},
	{selector: 'node:selected', style: {'border-width': 3, 'border-color': '#c0392b'}},
	{selector: 'edge', style: {
		'width': 'mapData(weight, 0, 1, 0.5, 3)', 'line-color': '#9aa7b1',
		'curve-style': 'haystack', 'opacity': 0.7}},
];

export function showGraph(el, params) {
	const start = params.get('file') ? {file: params.get('file')} :
		params.get('tag') ? {tag: params.get('tag')} : null;
	const depth = Math.min(3, Math.max(1, Number(params.get('depth')) || 1));
	const kind = h('select', {id: 'graph-kind'}, h('option', {value: 'tag'}, 'tag'),
		h('option', {value: 'file'}, 'file'));
	const what = h('input', {type: 'text', id: 'graph-what', size: 40,
		placeholder: 'a tag, e.g. type=image, or a file path'});
	const status = h('p', {id: 'graph-status', class: 'muted'});
	const selected = h('p', {id: 'graph-selected'});
	const box = h('div', {id: 'graph', class: 'graph'});
	let cy = null;

	fill(el, h('h1', {}, 'Graph'),
		h('form', {class: 'row', onsubmit: (e) => {
			e.preventDefault();
			const v = what.value.trim();
			if (v)
				location.hash = '#/graph?' + new URLSearchParams({[kind.value]: v});
		}}, kind, ' ', what, ' ', h('button', {type: 'submit'}, 'Show')),
		h('p', {class: 'muted'}, 'Click a node to expand it; double-click a file to open it. ',
			h('span', {class: 'legend file'}, 'file'), ' ', h('span', {class: 'legend tag'}, 'tag')),
		status, selected, box);
	attachCompletion(what);
	if (start) {
		kind.value = start.file ? 'file' : 'tag';
		what.value = start.file || start.tag;
	}
	if (!start) {
		status.textContent = 'Pick a tag or a file to start from.';
		return {};
	}

	// @fresh: nothing has a place yet (all at 0,0, where cose cannot start).
	function layout(fresh) {
		const n = cy.nodes().length;
		// cose reads well to a few hundred nodes; past that, rings are cheaper.
		const l = cy.layout(n > 400 ? {name: 'concentric', minNodeSpacing: 8, animate: false,
			concentric: (node) => node.degree()} :
			{name: 'cose', animate: false, randomize: fresh, nodeRepulsion: () => 8000,
				idealEdgeLength: () => 60, numIter: 1000});
		// A small graph fitted to the box would be drawn huge.
		l.one('layoutstop', () => {
			if (cy.zoom() > 1.5) {
				cy.zoom(1.5);
				cy.center();
			}
		});
		l.run();
	}

	/*
	 * New nodes start on a ring around the node they came from. In a big
	 * graph they stay there: the rest stays where the user saw it, and it
	 * costs nothing (cose over a few hundred nodes takes seconds).
	 */
	function ring(center, added) {
		const c = center.position(), k = added.length;
		const r = 30 + 6 * Math.sqrt(k) * 4;
		added.forEach((n, i) => n.position({x: c.x + r * Math.cos(2 * Math.PI * i / k),
			y: c.y + r * Math.sin(2 * Math.PI * i / k)}));
	}

	// Adds what /graph says about @q; true when it answered.
	async function expand(q, node) {
		status.textContent = 'Loading ' + (q.file ? q.file : q.tag) + '…';
		let j;
		try {
			j = await graph(q, node ? 1 : depth);
		} catch (e) {
			fill(status, errorBox('cannot load the graph: ' + e.message));
			return false;
		}
		const before = cy.elements().length;
		let added = cy.collection();
		cy.batch(() => {
			for (const n of j.nodes)
				if (!cy.getElementById(String(n.id)).length)
					added = added.union(cy.add({group: 'nodes', data: {id: String(n.id),
						kind: n.kind, label: n.label ?? String(n.id), raw: n}}));
			for (const e of j.edges) {
				const id = 'e:' + e.source + '\u0000' + e.target;
				const rid = 'e:' + e.target + '\u0000' + e.source;
				if (cy.getElementById(id).length || cy.getElementById(rid).length)
					continue;
				if (!cy.getElementById(String(e.source)).length ||
				    !cy.getElementById(String(e.target)).length)
					continue;
				cy.add({group: 'edges', data: {id, source: String(e.source),
					target: String(e.target), weight: Number(e.weight) || 0}});
			}
		});
		if (node)
			node.addClass('expanded');
		if (node)
			ring(node, added);
		if (!node || cy.nodes().length <= 80)
			layout(!node);
		const grown = cy.elements().length - before;
		status.textContent = cy.nodes().length + ' nodes, ' + cy.edges().length + ' edges' +
			(node ? ' (' + grown + ' new)' : '') + '.';
		el.dataset.nodes = cy.nodes().length;
		return true;
	}

	cy = cytoscape({container: box, style: STYLE, elements: [],
		minZoom: 0.05, maxZoom: 4, hideEdgesOnViewport: true, textureOnViewport: true,
		pixelRatio: 1});
	window.dgfsGraph = cy;		/* for the tests and the console */
	cy.on('tap', 'node', (e) => {
		const n = e.target;
		const q = nodeQuery(n.data('raw'));
		fill(selected, n.data('kind') + ': ',
			q.file ? h('a', {href: '#/file/' + encodeURIComponent(q.file)}, q.file) :
				h('a', {href: '#/search?q=' + encodeURIComponent(q.tag)}, q.tag));
		if (!n.hasClass('expanded'))
			expand(q, n);
	});
	cy.on('dbltap', 'node[kind = "file"]', (e) => {
		location.hash = '#/file/' + encodeURIComponent(nodeQuery(e.target.data('raw')).file);
	});
	expand(start, null).then((ok) => {
		if (!ok)
			return;
		const id = start.file !== undefined ? ['file:' + start.file, start.file] :
			['tag:' + start.tag, start.tag];
		for (const i of id)
			cy.getElementById(i).addClass('start expanded');
	});
	return {dispose: () => {
		cy.destroy();
		if (window.dgfsGraph === cy)
			delete window.dgfsGraph;
	}};
}
