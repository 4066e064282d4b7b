-- handlers.lua -- the Lua consumers of lua_test.yaml. Checking handlers
-- publish {case = ...} to app:results when their checks pass and the error
-- text to app:failures when they do not (and ack either way), so the test
-- scripts can count outcomes with queue.info().
local queue = require("queue")
local errors = require("errors")
local t = require("testlib")
local cases = require("cases")

-- Test doubles for the two host globals the seed's handle_email uses.
logger = {
  info = function(self, text, fields)
    assert(self == logger and type(text) == "string" and type(fields) == "table", "logger:info misuse")
    assert(type(fields.message_id) == "string" and #fields.message_id > 0, "logger:info without message_id")
  end,
}
email = {
  send = function(to, template, data)
    assert(queue.publish("app:sent_log", {to = to, template = template}))
    if to == "bounce@example.com" then
      return nil, errors.new(errors.UNAVAILABLE, "mailbox unavailable", true)
    end
    return true
  end,
}

local function checked(name, fn)
  return function(...)
    local ok, err = pcall(fn, ...)
    if ok then
      assert(queue.publish("app:results", {case = name}))
    else
      print("handler check failed: " .. name .. ": " .. tostring(err))  -- no io in the sandbox
      assert(queue.publish("app:failures", {case = name, error = tostring(err)}))
    end
  end
end

-- The seed's consumer, as written.
function handle_email(payload)
  local msg = queue.message()
  logger:info("Processing", {
    message_id = msg:id(),
    to = payload.to
  })

  local ok, err = email.send(payload.to, payload.template, payload.data)
  if err then
    return nil, err  -- Message will be requeued or dead-lettered
  end
end

-- The dead-lettered bounce: 3 attempts, last error kept in a header.
check_dead_email = checked("dead_email", function(payload)
  t.eq(payload.to, "bounce@example.com", "dead-lettered payload")
  local msg = assert(queue.message())
  local last_error = msg:header("x-last-error")
  t.check(type(last_error) == "string" and last_error:find("mailbox unavailable", 1, true), "x-last-error names the cause, got " .. tostring(last_error))
end)

-- The seed's "Accessing Delivery Context" example, as written, then checks.
local function delivery_context(payload)
  local msg, err = queue.message()
  if err then
    return nil, err
  end
  local msg_id = msg:id()
  local priority = msg:header("priority")
  local all_headers = msg:headers()

  t.check(type(msg_id) == "string" and #msg_id == 36, "msg:id() is a UUID string, got " .. tostring(msg_id))
  t.eq(priority, "high", "msg:header('priority')")
  t.eq(all_headers.correlation_id, "req-42", "msg:headers().correlation_id")
  t.eq(all_headers.priority, "high", "msg:headers().priority")
  t.eq(msg:header("missing"), nil, "msg:header of a missing key")
  t.eq(payload.type, "order_shipped", "payload.type")
  t.eq(payload.order_id, 1001, "payload.order_id")
  t.eq(msg:attempts(), 1, "msg:attempts() on first delivery")
end
handle_notification = checked("delivery_context", function(payload)
  local ok, err = delivery_context(payload)
  if ok == nil and err then error(tostring(err)) end
end)

check_value = checked("value", function(payload)
  local expected = cases.all[payload.name]
  if expected == nil then expected = cases.binary[payload.name] end
  t.check(expected ~= nil, "unknown case " .. tostring(payload.name))
  local ok, where = t.same(payload.value, expected)
  t.check(ok, payload.name .. ": " .. tostring(where))
end)

check_headers = checked("headers", function(payload)
  local msg = assert(queue.message())
  t.eq(msg:header("s"), "text", "string header")
  t.eq(msg:header("i"), 42, "integer header")
  t.eq(msg:header("neg"), -7, "negative integer header")
  t.eq(msg:header("f"), 2.5, "float header")
  t.eq(msg:header("whole"), 3.0, "whole float header stays a float")
  t.eq(msg:header("yes"), true, "boolean header true")
  t.eq(msg:header("no"), false, "boolean header false")
  local all = msg:headers()
  t.eq(math.type(all.i), "integer", "headers().i type")
  t.eq(math.type(all.whole), "float", "headers().whole type")
  t.eq(all.no, false, "headers().no")
end)

-- Keeps the Message of the first delivery; the second checks it is released.
kept = nil
keep_message = checked("released", function(payload)
  if payload.step == 1 then
    kept = assert(queue.message())
    t.check(kept:id() ~= nil, "live message has an id")
    return
  end
  t.check(kept ~= nil, "first delivery kept its message")
  for _, method in ipairs({"id", "headers", "attempts", "ack", "nack"}) do
    local v, err = kept[method](kept)
    t.eq(v, nil, "released " .. method .. "()")
    t.is_error(err, errors.INVALID, false, "released " .. method .. "()")
    t.check(err:message():find("released", 1, true), "message says released: " .. tostring(err))
  end
  local v, err = kept:header("priority")
  t.eq(v, nil, "released header()")
  t.is_error(err, errors.INVALID, false, "released header()")
  t.eq(tostring(kept), "queue.Message(released)", "tostring of a released message")
  -- the current message is live
  t.check(queue.message():id() ~= kept:id(), "current message differs")
end)

-- Early settlement is single-shot; returning an error afterwards changes nothing.
settle_twice = checked("settle", function(payload)
  local msg = assert(queue.message())
  t.eq(msg:ack(), true, "first ack")
  local v, err = msg:ack()
  t.eq(v, nil, "second ack")
  t.is_error(err, errors.INVALID, false, "second ack")
  v, err = msg:nack()
  t.eq(v, nil, "nack after ack")
  t.is_error(err, errors.INVALID, false, "nack after ack")
end)

function raise_error(payload)
  error("boom: " .. tostring(payload.n))
end

function loop_forever(payload)
  if payload.swallow then
    -- pcall cannot keep a budget error away: after tripping, every instruction raises
    while true do pcall(function() while true do end end) end
  end
  while true do end
end

check_budget_error = checked("budget", function(payload)
  local msg = assert(queue.message())
  local last_error = msg:header("x-last-error") or ""
  t.check(last_error:find("budget exceeded", 1, true), "x-last-error names the budget, got " .. last_error)
  -- Which budget tripped, when the publisher said (header `expect`).
  local expect = msg:header("expect")
  if expect then t.check(last_error:find(expect, 1, true), "expected '" .. expect .. "', got " .. last_error) end
end)

-- A consumer acting as restricted_worker: publishing to app:secret is denied.
publish_to_secret = checked("consumer_denied", function(payload)
  local ok, err = queue.publish("app:secret", {from = "consumer"})
  t.eq(ok, nil, "denied publish result")
  t.is_error(err, errors.PERMISSION_DENIED, false, "denied publish from a consumer")
  t.eq(queue.publish("app:tasks", {from = "consumer"}), true, "allowed publish from the same consumer")
end)
