-- POST /api/v1/tasks as the writing user ($BENCH_WRITER_TOKEN): a small task with a
-- title unique to this run ($BENCH_NONCE) and this request. bench/ deletes them after.
local token = os.getenv("BENCH_WRITER_TOKEN")
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"title": "bench post ' .. nonce .. '-' .. counter ..
    '", "description": "written by the benchmark", "priority": ' .. (counter % 6) .. '}'
  return wrk.format("POST", "/api/v1/tasks", headers, body)
end
