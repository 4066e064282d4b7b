-- run.lua -- drives the sandbox tests (lua.sandbox.*).
--   qplug lua --as app:sandboxed_script CONFIG run.lua script CASE QUEUE_SO OUTSIDE
--     the script itself (acting as the sandboxed process entry) tries CASE;
--   qplug lua CONFIG run.lua handler|grants CASE QUEUE_SO OUTSIDE
--     the (trusted) script hands CASE to the sandboxed consumer and waits for
--     its verdict.
-- Either way the escape must fail, and nothing may reach app:secret.
local queue = require("queue")
local escapes = require("escapes")

local mode, case, queue_so, outside = arg[1], arg[2], arg[3], arg[4]
local ctx = {queue_so = queue_so, config = arg[0]:gsub("run%.lua$", "sandbox_test.yaml"), outside = outside}
assert(escapes[case] or mode == "grants", "unknown case " .. tostring(case))

local function count(id)
  local info = assert(queue.info(id))
  return info.messages or 0
end

local function secret_untouched()
  local n = count("app:secret")
  if n ~= 0 then error(n .. " message(s) reached app:secret") end
end

if mode == "script" then
  local escaped, detail = escapes[case](ctx)
  if escaped then error("ESCAPED from the script sandbox: " .. tostring(detail)) end
  secret_untouched()
  print("ok held " .. case .. ": " .. tostring(detail))
  return 0
end

-- Handler modes: wait (deadline loop) for the job to be held or dead-lettered.
local target = mode == "grants" and "app:granted_jobs" or "app:sandbox_jobs"
assert(queue.publish(target, {case = case, ctx = ctx}))
for _ = 1, 6000 do
  if count("app:sandbox_held") + count("app:sandbox_escaped") >= 1 then break end
  os.execute("sleep 0.01")
end
if count("app:sandbox_escaped") ~= 0 then error("ESCAPED from the handler sandbox (or the handler failed): " .. case) end
if count("app:sandbox_held") ~= 1 then error("no verdict from the handler for " .. case) end
secret_untouched()
print("ok held " .. case)
return 0
