-- handler.lua -- sandboxed consumers of sandbox_test.yaml.
local queue = require("queue")
local escapes = require("escapes")

-- One escape per job ({case=, ctx=}): held -> ack and report to
-- app:sandbox_held; escaped -> nack, so the job is dead-lettered.
function try_escape(job)
  local escaped, detail = escapes[job.case](job.ctx)
  print(string.format("sandbox handler: %s: %s: %s", job.case, escaped and "ESCAPED" or "held", tostring(detail)))
  if escaped then return nil, "escaped: " .. tostring(detail) end
  assert(queue.publish("app:sandbox_held", {case = job.case}))
  return true
end

-- An entry granted `modules: [io, os]` has them, and nothing more.
function check_grants(job)
  if type(io) ~= "table" or type(io.open) ~= "function" then return nil, "io not granted" end
  if type(os.getenv) ~= "function" or type(os.execute) ~= "function" then return nil, "os not granted" end
  if debug ~= nil then return nil, "debug granted although not listed" end
  if package.loadlib ~= nil then return nil, "package.loadlib granted although not listed" end
  local f = io.open(job.ctx.config, "r")
  if not f then return nil, "io.open failed" end
  f:close()
  assert(queue.publish("app:sandbox_held", {case = "grants"}))
  return true
end
