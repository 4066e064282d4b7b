-- publish.lua -- one chaos publisher, run by `qplug lua CONFIG publish.lua
-- FIRST COUNT OUT PACE_EVERY PACE_SECONDS`: publishes the IDs FIRST ..
-- FIRST+COUNT-1 to chaos:jobs one at a time, as an application would: a
-- retryable failure (broker restarting) is retried after a short pause until
-- it succeeds; anything else ends the script with exit 1. Only an ID whose
-- publish returned success is appended to OUT (one whole line per write).
-- Every PACE_EVERY messages it sleeps PACE_SECONDS so the run lasts long
-- enough for the test's faults to hit it mid-stream. At the end it writes
-- "retries N" to OUT.retries: each retried publish may have been stored
-- by the broker already, so it bounds the duplicates publishing can cause.
local queue = require("queue")

local first = assert(math.tointeger(tonumber(arg[1])), "FIRST")
local count = assert(math.tointeger(tonumber(arg[2])), "COUNT")
local out_path = assert(arg[3], "OUT")
local pace_every = assert(math.tointeger(tonumber(arg[4])), "PACE_EVERY")
local pace_seconds = assert(tonumber(arg[5]), "PACE_SECONDS")

local out = assert(io.open(out_path, "a"))
out:setvbuf("full")
local retries = 0

for n = first, first + count - 1 do
  local id = tostring(n)
  while true do
    local ok, err = queue.publish("chaos:jobs", {id = id})
    if ok then break end
    if not err:retryable() then
      io.stderr:write("publish.lua: id ", id, ": not retryable: ", tostring(err), "\n")
      os.exit(1)
    end
    retries = retries + 1
    os.execute("sleep 0.1")
  end
  assert(out:write(id, "\n"))
  assert(out:flush())
  if (n - first + 1) % pace_every == 0 then os.execute("sleep " .. pace_seconds) end
end
out:close()
local stats = assert(io.open(out_path .. ".retries", "w"))
assert(stats:write("retries ", retries, "\n"))
stats:close()
