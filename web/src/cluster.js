// The cluster (admin keys only): its hosts as the database sees them
// (GET /cluster/hosts) and repair's progress (GET /cluster/repair, the
// figures /metrics has), read again every few seconds while the page shows.
import {clusterHosts, clusterRepair} from './api.js';
import {h, fill, humanSize, humanTime, errorBox} from './dom.js';

const REFRESH_MS = 3000;

function hostRow(host, self) {
	const drain = host.drained ? 'drained' : host.draining ? 'draining' : '';
	return h('tr', {dataset: {host: host.id}},
		h('td', {class: 'host-id'}, host.id, host.id === self ? ' (this host)' : '',
			host.owner ? ' \u2605' : ''),
		h('td', {class: 'path'}, host.addr + ':' + host.http_port),
		h('td', {}, host.zone),
		h('td', {class: 'state host-up ' + (host.up ? 'up' : 'down')}, host.up ? 'up' : 'down'),
		h('td', {class: 'state host-drain' + (drain ? ' draining' : '')}, drain),
		h('td', {class: 'num host-copies'}, host.draining ? String(host.copies) : ''),
		h('td', {class: 'host-tls'}, host.tls ? 'TLS' : 'plain'));
}

function hostsTable(j) {
	return h('table', {class: 'files', id: 'hosts'},
		h('thead', {}, h('tr', {}, ['Host', 'Address', 'Zone', 'State', 'Draining',
			'Copies left (draining)', 'Transport'].map((t) => h('th', {}, t)))),
		h('tbody', {}, j.hosts.map((host) => hostRow(host, j.self))));
}

// One figure of repair's: <dt>label</dt><dd id=ID>value</dd>, red when @bad.
function figure(label, id, value, bad) {
	return [h('dt', {}, label), h('dd', {id, class: bad ? 'state bad' : null}, String(value))];
}

function repairFigures(j, hosts) {
	if (!j.repair)
		return h('p', {class: 'muted', id: 'repair'}, 'No replication on this host ' +
			'(it needs --cluster-secret-file): nothing is repaired.');
	const r = j.repair;
	const owner = (hosts.find((x) => x.owner) || {}).id;
	return h('div', {id: 'repair'},
		j.owner ? null : h('p', {class: 'muted', id: 'not-owner'}, 'This host (' + j.self +
			') does not own the cluster\u2019s background work' +
			(owner ? ' (' + owner + ' does)' : '') +
			': the chunk counts are the owner\u2019s, the copies this host\u2019s own.'),
		h('dl', {},
			figure('Chunks short of copies', 'repair-short', r.chunks.short, r.chunks.short > 0),
			figure('Chunks misplaced', 'repair-misplaced', r.chunks.misplaced, false),
			figure('Chunks lost (no live copy)', 'repair-lost', r.chunks.lost, r.chunks.lost > 0),
			figure('Chunks with surplus copies', 'repair-surplus', r.chunks.surplus, false),
			figure('Copies made', 'repair-copied', r.copies.copied, false),
			figure('Copies failed', 'repair-failed', r.copies.failed, r.copies.failed > 0),
			figure('Copies refused (wrong bytes)', 'repair-refused', r.copies.refused,
				r.copies.refused > 0),
			figure('Bytes copied', 'repair-bytes', humanSize(r.bytes), false),
			figure('Copies handed off (draining)', 'repair-handed-off', r.handed_off, false),
			figure('Surplus copies trimmed', 'repair-trimmed', r.trims.trimmed, false),
			figure('Trims refused or put off', 'repair-trim-failed', r.trims.failed, false),
			figure('Whole passes', 'repair-passes', r.passes, false),
			figure('Last whole pass', 'repair-last-pass', r.last_pass === null ? 'none yet' :
				humanTime(r.last_pass) + ' UTC', false)),
		h('p', {class: 'muted'}, 'Counts as of the owner\u2019s last whole pass; a pass runs every ' +
			r.interval + ' s.'));
}

export function showCluster(el) {
	const body = h('div', {id: 'cluster'}, h('p', {class: 'muted'}, 'Loading…'));
	const updated = h('p', {class: 'muted', id: 'cluster-updated'});
	let timer = null, gone = false;

	async function refresh() {
		timer = null;
		let repair, hosts;
		try {
			repair = await clusterRepair();
			hosts = repair.cluster ? await clusterHosts() : null;
		} catch (e) {
			if (gone)
				return;
			fill(body, errorBox(e.status === 403 ? 'The cluster\u2019s page needs an admin key: ' +
				e.message : 'cannot read the cluster: ' + e.message));
			timer = setTimeout(refresh, REFRESH_MS);
			return;
		}
		if (gone)
			return;
		if (!repair.cluster) {
			fill(body, h('p', {id: 'no-cluster'}, 'This dgfsd is a single host, not part of a ' +
				'cluster (its metadata is not in PostgreSQL).'));
			return;
		}
		fill(body, h('h2', {}, 'Hosts'), hostsTable(hosts),
			h('h2', {}, 'Repair'), repairFigures(repair, hosts.hosts));
		fill(updated, 'Updated ' + new Date().toLocaleTimeString() + '; every ' +
			REFRESH_MS / 1000 + ' s.');
		timer = setTimeout(refresh, REFRESH_MS);
	}

	fill(el, h('h1', {}, 'Cluster'), body, updated);
	refresh();
	return {dispose: () => {
		gone = true;
		if (timer)
			clearTimeout(timer);
	}};
}
