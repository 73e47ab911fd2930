-- wrk script of `make bench` (tests/bench/client.sh):
--   wrk ... -s wrk_paths.lua URL -- PATHS_FILE
-- Each request GETs a random path of PATHS_FILE (one a line); at the end
-- one line "JSON {...}" with what tests/bench/client.sh reads.
local paths = {}

function init(args)
	for line in io.lines(args[1]) do
		paths[#paths + 1] = line
	end
	-- Each thread its own sequence.
	math.randomseed(os.time() + tonumber(tostring(paths):match("0x(%x+)") or "0", 16))
end

function request()
	return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format('JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
		'"errors": %d, "status_errors": %d, "p50_us": %.1f, "p99_us": %.1f}\n',
		summary.requests, summary.duration, summary.bytes,
		e.connect + e.read + e.write + e.timeout, e.status,
		latency:percentile(50), latency:percentile(99)))
end
