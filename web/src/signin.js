// Sign-in: an API key (dgfsd key add, or admin.key in the state
// directory), checked against dgfsd before it is kept.
import {listFiles, setKey, clearKey} from './api.js';
import {h, fill, errorBox} from './dom.js';

export function showSignin(el, then) {
	const key = h('input', {type: 'password', id: 'key', name: 'key', autocomplete: 'off',
		placeholder: 'API key', size: 60, required: true});
	const remember = h('input', {type: 'checkbox', id: 'remember'});
	const msg = h('div', {id: 'signin-msg'});

	async function tryKey(k) {
		setKey(k, remember.checked);
		try {
			await listFiles('', '', 1);
			location.hash = then;
		} catch (e) {
			clearKey();
			fill(msg, errorBox(e.status === 401 ?
				(k ? 'dgfsd refused this key: ' : '') + e.message :
				'cannot reach dgfsd: ' + e.message));
		}
	}

	const form = h('form', {class: 'card', onsubmit: (e) => {
		e.preventDefault();
		tryKey(key.value.trim());
	}},
	h('h1', {}, 'Sign in'),
	h('p', {}, 'An API key from ', h('code', {}, 'dgfsd key add'),
		' (or the first admin key, in the state directory\u2019s ', h('code', {}, 'admin.key'),
		').'),
	h('label', {for: 'key'}, 'Key '), key,
	h('p', {}, h('label', {}, remember, ' remember on this browser')),
	h('p', {}, h('button', {type: 'submit', id: 'signin'}, 'Sign in'), ' ',
		h('button', {type: 'button', id: 'nokey', onclick: () => tryKey('')},
			'Continue without a key')),
	msg);
	fill(el, form);
	key.focus();
	return {signin: true};
}
