-- worker.lua -- the consumer: receives the decoded payload directly.
-- Returning nothing acks; `return nil, err` (or raising) nacks, and after
-- 3 attempts the message goes to app:emails_dead.
local queue = require("queue")

function handle_email(payload)
  local msg, err = queue.message()
  if err then
    return nil, err
  end
  print(string.format("handled %d of %d: %s (%s, priority %s, id %s)",
    payload.n, payload.total, payload.to, payload.template, msg:header("priority"), msg:id()))
end
