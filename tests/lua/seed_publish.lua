-- The seed's "Loading" and "Publishing Messages" examples, as written.
local queue = require("queue")

local ok, err = queue.publish("app:tasks", {
action = "send_email",
user_id = 456,
template = "welcome"
})
if err then
return nil, err
end

-- Checks (not part of the seed).
assert(ok == true, "publish returns true")
local info = assert(queue.info("app:tasks"))
assert(info.messages == 1, "one message queued, got " .. tostring(info.messages))
print("ok seed_publish")
