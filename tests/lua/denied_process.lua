-- process.lua entry run as restricted_user: publishing to app:secret is
-- denied (and publishes nothing); app:tasks is allowed. Returning nil, err
-- makes `qplug run` fail.
local queue = require("queue")
local errors = require("errors")

function main()
  local ok, err = queue.publish("app:secret", {action = "leak"})
  if ok or not errors.is(err, errors.PERMISSION_DENIED) or err:retryable() then
    return nil, errors.new(errors.INTERNAL, "expected PERMISSION_DENIED, got " .. tostring(ok) .. ", " .. tostring(err))
  end
  local info = assert(queue.info("app:secret"))
  if info.messages ~= 0 then return nil, "denied publish reached the queue" end
  local published, perr = queue.publish("app:tasks", {action = "allowed"})
  if not published then return nil, perr end
  print("ok denied_publish")
end
