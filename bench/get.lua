-- GET $BENCH_PATH, signed in with $BENCH_TOKEN when it is set. "{cursor}" in the
-- path becomes $BENCH_CURSOR (a next_cursor the bench obtained from that server).
local path = os.getenv("BENCH_PATH")
local token = os.getenv("BENCH_TOKEN")
local cursor = os.getenv("BENCH_CURSOR") or ""
path = path:gsub("{cursor}", function() return cursor end)
local headers = {}
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
request = function()
  return wrk.format("GET", path, headers)
end
