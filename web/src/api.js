// dgfsd's HTTP API (docs/HTTP.md) as the UI uses it. The API key lives in
// sessionStorage (this tab, until it closes) or, when the user asks to be
// remembered, localStorage; every call sends it as a Bearer token.

const KEY_NAME = 'dgfs-api-key';

export function getKey() {
	return sessionStorage.getItem(KEY_NAME) ?? localStorage.getItem(KEY_NAME);
}

// @key '' signs in without a key (a dgfsd with --public-read).
export function setKey(key, remember) {
	sessionStorage.removeItem(KEY_NAME);
	localStorage.removeItem(KEY_NAME);
	(remember ? localStorage : sessionStorage).setItem(KEY_NAME, key);
}

export function clearKey() {
	sessionStorage.removeItem(KEY_NAME);
	localStorage.removeItem(KEY_NAME);
}

export function authHeaders() {
	const k = getKey();
	return k ? {Authorization: 'Bearer ' + k} : {};
}

// A file path as a URL: each segment percent-encoded, '/' kept.
export function fileUrl(path) {
	return '/files/' + path.split('/').map(encodeURIComponent).join('/');
}

export class ApiError extends Error {
	constructor(status, body) {
		super(body && body.error ? body.error : 'HTTP ' + status);
		this.status = status;
		this.body = body;
	}
}

// Called on a 401: the app sends the user to sign in.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(f) {
	onUnauthorized = f;
}

async function call(method, url, {body, headers, raw} = {}) {
	const opts = {method, headers: {...authHeaders(), ...headers}};
	if (body !== undefined) {
		opts.body = JSON.stringify(body);
		opts.headers['Content-Type'] = 'application/json';
	}
	const r = await fetch(url, opts);
	if (raw)
		return r;
	let j = null;
	try {
		j = await r.json();
	} catch {
		j = null;
	}
	if (r.status === 401)
		onUnauthorized();
	if (!r.ok)
		throw new ApiError(r.status, j);
	// An answer that is no JSON object: a dgfsd without this route.
	if (!j || typeof j !== 'object')
		throw new ApiError(r.status, {error: 'dgfsd answered ' + url.split('?')[0] +
			' without JSON (a dgfsd without this API?)'});
	return j;
}

// A query string, spaces as %20 (dgfsd decodes %XX only, not '+'); '/',
// ':' and '=' stay as they are, as a query value may have them (paths and
// name=value tags read better).
function query(params) {
	const parts = [];
	for (const [k, v] of Object.entries(params))
		if (v !== undefined && v !== null && v !== '')
			parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v)
				.replace(/%(2F|3A|3D)/gi, (m) => decodeURIComponent(m)));
	return parts.length ? '?' + parts.join('&') : '';
}

// GET /files/?prefix=&limit=&after=: {files: [...], next}
export const listFiles = (prefix, after, limit = 100) =>
	call('GET', '/files/' + query({prefix, after, limit}));

// HEAD /files/{path}: the Response (size, type, etag in its headers).
export const headFile = (path) => call('HEAD', fileUrl(path), {raw: true});

// The first @bytes of a file, as text (a preview).
export async function fileStart(path, bytes) {
	const r = await call('GET', fileUrl(path), {raw: true,
		headers: {Range: 'bytes=0-' + (bytes - 1)}});
	if (!r.ok)
		throw new ApiError(r.status, null);
	return new Uint8Array(await r.arrayBuffer());
}

export const deleteFile = (path) => call('DELETE', fileUrl(path));

/*
 * A URL that reads @path without an Authorization header, for <img> and
 * downloads: presigned (POST /presign) when signed in with a key, the
 * plain URL without one (--public-read).
 */
export async function readableUrl(path) {
	if (!getKey())
		return fileUrl(path);
	const j = await call('POST', '/presign', {body: {path, method: 'GET', expires_in: 3600}});
	return j.url;
}

// ---- tags, search, graph (issue 12's API shapes) ----

// GET /files/{path}?tags: {path, tags: [{name, value|null, source}]}
export const fileTags = (path) => call('GET', fileUrl(path) + '?tags');

// POST /files/{path}?tags {add: [...], remove: [...]}
export const changeTags = (path, add, remove) =>
	call('POST', fileUrl(path) + '?tags', {body: {add, remove}});

// GET /files/{path}?related: {files: [{path, score}]}
export const relatedFiles = (path) => call('GET', fileUrl(path) + '?related');

// GET /search?q=&limit=&after=: {files: [{path, score, tags}], next}
export const search = (q, after, limit = 50) => call('GET', '/search' + query({q, after, limit}));

// GET /tags?prefix=&limit=: {tags: [{name, value|null, files}]} (autocompletion)
export const tagsStartingWith = (prefix, limit = 10) =>
	call('GET', '/tags' + query({prefix, limit}));

// GET /graph?file=|tag=&depth=: {nodes: [{id, kind, label}], edges: [{source, target, weight}]}
export const graph = (what, depth = 1) => call('GET', '/graph' + query({...what, depth}));

/*
 * PUT /files/{path} through XMLHttpRequest, whose upload events give
 * progress (fetch has none): resolves with the answer's JSON.
 */
export function upload(path, file, onProgress) {
	return new Promise((resolve, reject) => {
		const x = new XMLHttpRequest();
		x.open('PUT', fileUrl(path));
		for (const [k, v] of Object.entries(authHeaders()))
			x.setRequestHeader(k, v);
		if (file.type)
			x.setRequestHeader('Content-Type', file.type);
		x.upload.addEventListener('progress', (e) => {
			if (e.lengthComputable)
				onProgress(e.loaded, e.total);
		});
		x.addEventListener('load', () => {
			let j = null;
			try {
				j = JSON.parse(x.responseText);
			} catch {
				j = null;
			}
			if (x.status === 401)
				onUnauthorized();
			if (x.status >= 200 && x.status < 300)
				resolve(j);
			else
				reject(new ApiError(x.status, j));
		});
		x.addEventListener('error', () => reject(new Error('network error')));
		x.addEventListener('abort', () => reject(new Error('aborted')));
		x.send(file);
	});
}

// ---- the cluster (admin keys only; docs/HTTP.md) ----

// GET /cluster/hosts: {self, hosts: [{id, addr, http_port, zone, up, draining, copies, drained, tls, ...}]}
export const clusterHosts = () => call('GET', '/cluster/hosts');

// GET /cluster/repair: {cluster: false} on a single host, else
// {cluster, self, owner, repair: {chunks: {short, misplaced, lost, surplus},
// copies: {copied, failed, refused}, trims: {trimmed, failed}, passes, last_pass, ...} | null}
export const clusterRepair = () => call('GET', '/cluster/repair');

// Whether this key may see the cluster (an admin key): asked without the
// 401 handler, as a key that is not an admin's is no reason to sign out.
export async function mayAdminister() {
	if (!getKey())
		return false;
	try {
		const r = await fetch('/cluster/repair', {headers: authHeaders()});
		return r.ok;
	} catch {
		return false;
	}
}
