-- GET /api/v1/heroes?limit=20&offset=K for a random page among the first 1 000,
-- with BENCH_QUERY appended (say "&count=none").
local extra = os.getenv("BENCH_QUERY") or ""
request = function()
  return wrk.format(nil, "/api/v1/heroes?limit=20&offset=" .. (20 * math.random(0, 999)) .. extra)
end
