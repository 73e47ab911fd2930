// dgfs's web UI: a single page whose views are picked by the URL's hash
// (#/files, #/file/PATH, #/search?q=, #/graph?tag=, #/cluster, #/signin), so that
// back, forward and reload work and every view has a link.
import {clearKey, getKey, mayAdminister, setUnauthorizedHandler} from './api.js';
import {showFiles} from './files.js';
import {showFile} from './file.js';
import {showSearch} from './search.js';
import {showGraph} from './graph.js';
import {showSignin} from './signin.js';
import {showCluster} from './cluster.js';

const main = document.getElementById('main');

// The hash as a view name, the rest of its path, and its query.
function parseHash() {
	const hash = location.hash.replace(/^#\/?/, '');
	const qi = hash.indexOf('?');
	const path = qi < 0 ? hash : hash.slice(0, qi);
	const params = new URLSearchParams(qi < 0 ? '' : hash.slice(qi + 1));
	const slash = path.indexOf('/');
	return {
		view: slash < 0 ? path : path.slice(0, slash),
		rest: slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1)),
		params,
	};
}

export function go(hash) {
	location.hash = hash;
}

// Each view gets a fresh container: a late answer of an old view lands in
// a detached element and shows nowhere.
let current = null;
// The Cluster link shows for an admin key only; asked once per key.
let adminFor = null;
function showClusterLink() {
	const key = getKey();
	const link = document.getElementById('nav-cluster');
	if (adminFor === key)
		return;
	adminFor = key;
	link.hidden = true;
	if (key)
		mayAdminister().then((yes) => {
			if (getKey() === key)
				link.hidden = !yes;
		});
}

function route() {
	const {view, rest, params} = parseHash();
	const signedIn = getKey() !== null;
	document.getElementById('signout').hidden = !signedIn;
	document.getElementById('who').textContent = signedIn ?
		(getKey() ? 'signed in with a key' : 'no key (public read)') : '';
	for (const a of document.querySelectorAll('nav a'))
		a.classList.toggle('active', a.dataset.nav === view);
	if (current && current.dispose)
		current.dispose();
	const el = document.createElement('section');
	main.replaceChildren(el);
	showClusterLink();
	if (!signedIn || view === 'signin') {
		current = showSignin(el, params.get('then') || '#/files');
		return;
	}
	switch (view) {
	case 'file':
		current = showFile(el, rest);
		break;
	case 'search':
		current = showSearch(el, params);
		break;
	case 'graph':
		current = showGraph(el, params);
		break;
	case 'cluster':
		current = showCluster(el);
		break;
	default:
		current = showFiles(el, params);
	}
}

setUnauthorizedHandler(() => {
	if (current && current.signin)
		return;		/* the sign-in view says why itself */
	clearKey();
	go('#/signin?then=' + encodeURIComponent(location.hash || '#/files'));
});

document.getElementById('signout').addEventListener('click', () => {
	clearKey();
	go('#/signin');
	route();
});
window.addEventListener('hashchange', route);
route();
