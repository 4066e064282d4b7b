-- The seed's "Message Headers" example, as written; `order` and `request_id`
-- are the seed's free variables, defined first. handle_notification
-- (handlers.lua) runs the seed's "Accessing Delivery Context" example on it.
local queue = require("queue")
local t = require("testlib")
local order = {id = 1001}
local request_id = "req-42"

queue.publish("app:notifications", {
type = "order_shipped",
order_id = order.id
}, {
priority = "high",
correlation_id = request_id
})

t.wait_count("app:notifications", 0)
t.wait_count("app:results", 1)
t.eq(t.count("app:failures"), 0, "failed checks in handle_notification")
print("ok seed_headers")
