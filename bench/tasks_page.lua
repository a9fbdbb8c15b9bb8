-- GET /api/v1/tasks?limit=50&count=none as a signed-in user with 10 000 tasks.
local token = os.getenv("BENCH_TOKEN")
request = function()
  return wrk.format(nil, "/api/v1/tasks?limit=50&count=none", {["Authorization"] = "Bearer " .. token})
end
