-- GET /api/v1/heroes/{id} for a random id among the seeded heroes.
local heroes = tonumber(os.getenv("BENCH_HEROES") or "100000")
request = function()
  return wrk.format(nil, "/api/v1/heroes/" .. math.random(1, heroes))
end
