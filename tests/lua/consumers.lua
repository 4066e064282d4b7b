-- Lua consumers end to end under `qplug lua` (handlers.lua holds the
-- handlers). `consumers.lua <case>`; each case waits for its outcome.
local queue = require("queue")
local t = require("testlib")
local values = require("cases")

local function expect_results(n)
  t.wait_count("app:results", n)
  t.eq(t.count("app:failures"), 0, "failed handler checks")
end

local cases = {}

-- The seed's handle_email: success acks; `return nil, err` nacks, so the
-- bounce is redelivered (3 attempts) and then dead-lettered.
function cases.seed_consumer()
  assert(queue.publish("app:emails", {to = "ok@example.com", template = "welcome", data = {name = "Ann"}}))
  assert(queue.publish("app:emails", {to = "bounce@example.com", template = "welcome", data = {name = "Bob"}}))
  expect_results(1)                  -- dead_email_checker saw the dead-lettered bounce
  t.wait_count("app:emails", 0)
  t.eq(t.count("app:sent_log"), 4, "email.send calls: 1 + 3 attempts of the bounce")
end

function cases.values_roundtrip()
  local n = 0
  for name, value in pairs(values.all) do
    assert(queue.publish("app:values_json", {name = name, value = value}))
    assert(queue.publish("app:values_packed", {name = name, value = value}))
    n = n + 2
  end
  for name, value in pairs(values.binary) do
    assert(queue.publish("app:values_packed", {name = name, value = value}))
    n = n + 1
  end
  -- A bare string / number / boolean body arrives as itself.
  expect_results(n)
end

function cases.header_types()
  assert(queue.publish("app:typed_headers", "x", {s = "text", i = 42, neg = -7, f = 2.5, whole = 3.0, yes = true, no = false}))
  expect_results(1)
end

function cases.released_message()
  assert(queue.publish("app:keep", {step = 1}, {priority = "high"}))
  assert(queue.publish("app:keep", {step = 2}))
  expect_results(2)
end

function cases.settle_single_shot()
  assert(queue.publish("app:settle", {n = 1}))
  expect_results(1)
  t.wait_count("app:settle", 0)
end

function cases.handler_raises()
  assert(queue.publish("app:raise", {n = 1}))
  t.wait_count("app:raise_dead", 1)  -- raised twice (max_attempts 2), then dead-lettered
  t.wait_count("app:raise", 0)
  -- the host survived: other consumers still work
  assert(queue.publish("app:settle", {n = 2}))
  expect_results(1)
end

-- Needs QPLUG_LUA_MAX_INSTRUCTIONS or QPLUG_LUA_TIMEOUT_MS (set by ctest).
function cases.handler_loops()
  assert(queue.publish("app:loop", {swallow = false}))
  assert(queue.publish("app:loop", {swallow = true}))
  expect_results(2)                  -- loop_dead_checker saw both, x-last-error names the budget
  assert(queue.publish("app:settle", {n = 3}))
  expect_results(3)
end

-- The same, with the budgets from the consumers' `limits:` (no env set):
-- one entry counts instructions, the other only wall-clock time.
function cases.handler_loops_config_limits()
  -- ctest sets the host defaults to 1e6 instructions and no time limit, so
  -- `expect` fails unless each entry's limits replaced them.
  assert(queue.publish("app:loop_limited", {swallow = false}, {expect = "instruction budget"}))
  assert(queue.publish("app:loop_timed", {swallow = true}, {expect = "time budget"}))
  expect_results(2)                  -- loop_dead_checker saw both, x-last-error names the budget
  assert(queue.publish("app:settle", {n = 3}))
  expect_results(3)
end

function cases.consumer_denied()
  assert(queue.publish("app:denied_jobs", {n = 1}))
  expect_results(1)
  t.eq(t.count("app:secret"), 0, "the consumer's denied publish published nothing")
end

return t.run(cases, arg and arg[1])
