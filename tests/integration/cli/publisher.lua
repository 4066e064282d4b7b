-- The process.lua script of ok.yaml (never auto-started; `qplug check`
-- compiles it, so it must exist).
local queue = require("queue")
function main()
  return queue.publish("app:tasks", {action = "send_email", user_id = 456})
end
