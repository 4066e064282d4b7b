-- One case per row of the seed's error table (plus NOT_FOUND), each its own
-- ctest: `errors_table.lua <case>`. Runs under qplug lua and stock lua5.4.
local queue = require("queue")
local errors = require("errors")
local t = require("testlib")

local cases = {}

function cases.kind_constants()
  for _, k in ipairs({"INVALID", "NOT_FOUND", "PERMISSION_DENIED", "UNAVAILABLE", "TIMEOUT", "FULL", "CANCELED", "INTERNAL"}) do
    t.eq(errors[k], k, "errors." .. k)
  end
end

function cases.empty_queue_id()
  local ok, err = queue.publish("", {action = "send_email"})
  t.eq(ok, nil, "result")
  t.is_error(err, errors.INVALID, false, "empty queue ID")
  t.eq(err:message(), "queue ID is empty", "message")
  t.eq(tostring(err), "INVALID: queue ID is empty", "tostring")
end

function cases.empty_data_nil()
  local ok, err = queue.publish("app:tasks", nil)
  t.eq(ok, nil, "result")
  t.is_error(err, errors.INVALID, false, "nil data")
  t.eq(t.count("app:tasks"), 0, "nothing published")
end

function cases.empty_data_table()
  local ok, err = queue.publish("app:tasks", {})
  t.eq(ok, nil, "result")
  t.is_error(err, errors.INVALID, false, "empty table data")
  t.eq(tostring(err), "INVALID: message data is empty", "tostring")
  t.eq(t.count("app:tasks"), 0, "nothing published")
end

function cases.no_delivery_context()
  local msg, err = queue.message()
  t.eq(msg, nil, "result")
  t.is_error(err, errors.INVALID, false, "queue.message() outside a consumer")
end

-- Needs the actor: run with `qplug lua --as app:restricted`.
function cases.permission_denied()
  local ok, err = queue.publish("app:secret", {action = "leak"})
  t.eq(ok, nil, "result")
  t.is_error(err, errors.PERMISSION_DENIED, false, "denied publish")
  t.eq(t.count("app:secret"), 0, "denied publish publishes nothing")
  t.eq(queue.publish("app:tasks", {action = "fine"}), true, "the same actor may publish elsewhere")
end

-- app:tiny holds one message and waits 1 ms for room: the second publish fails in the driver (FULL).
function cases.publish_failed()
  t.eq(queue.publish("app:tiny", "first"), true, "first publish")
  local ok, err = queue.publish("app:tiny", "second")
  t.eq(ok, nil, "result")
  t.is_error(err, errors.INTERNAL, true, "publish failed")
  t.check(err:message():find("FULL", 1, true), "cause kept in the message: " .. err:message())
end

function cases.unknown_queue()
  local ok, err = queue.publish("app:nope", {a = 1})
  t.eq(ok, nil, "result")
  t.is_error(err, errors.NOT_FOUND, false, "unknown queue")
  local info, err2 = queue.info("app:nope")
  t.eq(info, nil, "info result")
  t.is_error(err2, errors.NOT_FOUND, false, "info of an unknown queue")
end

function cases.error_values()
  local e = errors.new(errors.TIMEOUT, "slow", true)
  t.eq(e:kind(), "TIMEOUT", "kind()")
  t.eq(e:message(), "slow", "message()")
  t.eq(e:retryable(), true, "retryable()")
  t.eq(tostring(e), "TIMEOUT: slow", "tostring")
  t.check(errors.is(e, errors.TIMEOUT) and not errors.is("x"), "errors.is")
  t.check(not pcall(errors.new, "NOPE", "x"), "errors.new rejects unknown kinds")
end

-- Wrong argument TYPES are programming errors: they raise.
function cases.argument_types_raise()
  local ok, msg = pcall(queue.publish, 42, "x")
  t.check(not ok and tostring(msg):find("bad argument #1", 1, true), "numeric queue ID raises: " .. tostring(msg))
  ok, msg = pcall(queue.publish, "app:tasks", "x", "not a table")
  t.check(not ok and tostring(msg):find("bad argument #3", 1, true), "string headers raise: " .. tostring(msg))
  ok, msg = pcall(queue.info, nil)
  t.check(not ok, "queue.info(nil) raises")
  ok, msg = pcall(queue.publish_batch, "app:tasks", "x")
  t.check(not ok and tostring(msg):find("bad argument #2", 1, true), "batch of a string raises: " .. tostring(msg))
end

function cases.publish_batch()
  t.eq(queue.publish_batch("app:tasks", {"a", {b = 1}, 3}, {priority = "low"}), true, "batch publish")
  t.eq(t.count("app:tasks"), 3, "three messages")
  local ok, err = queue.publish_batch("app:tasks", {})
  t.is_error(err, errors.INVALID, false, "empty batch")
  ok, err = queue.publish_batch("app:tasks", {"a", function() end})
  t.eq(ok, nil, "bad item")
  t.is_error(err, errors.INVALID, false, "batch with a function")
  t.check(err:message():find("batch item 2", 1, true), "names the item: " .. err:message())
  t.eq(t.count("app:tasks"), 3, "a rejected batch publishes nothing")
end

function cases.info()
  local info = assert(queue.info("app:tasks"))
  t.eq(info.messages, 0, "empty queue")
  assert(queue.publish("app:tasks", "x"))
  t.eq(queue.info("app:tasks").messages, 1, "one message")
end

return t.run(cases, arg and arg[1])
