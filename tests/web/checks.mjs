// The web UI drivers' checks (webui.mjs, webui_cluster.mjs), printed in
// tests/lib.sh's format: one "PASS: " or "FAIL: " line each. failed()
// says whether any failed, for the driver's exit status.
let anyFailed = 0;

export function pass(name) {
	console.log('PASS: ' + name);
}
export function fail(name, why) {
	console.log('FAIL: ' + name + (why ? ' (' + String(why).split('\n')[0] + ')' : ''));
	anyFailed = 1;
}
export function same(name, got, want) {
	if (got === want)
		pass(name);
	else
		fail(name, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}
// step NAME FN: FN must resolve (a wait that times out fails it).
export async function step(name, fn) {
	try {
		await fn();
		pass(name);
		return true;
	} catch (e) {
		fail(name, e.message);
		return false;
	}
}
export function failed() {
	return anyFailed;
}
