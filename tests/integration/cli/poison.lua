-- poison.lua -- a handler that always raises, and a process that publishes
-- one message for it (cli_run_poison_*: the message must end in
-- app:tasks.dead with its error logged, and --exit-when-idle must wait).
local queue = require("queue")

function always_fails(payload)
  error("cannot handle job " .. tostring(payload.job))
end

function publish_one()
  assert(queue.publish("app:tasks", {job = 7}))
end
