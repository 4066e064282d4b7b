-- Value mapping on the publish side: what is refused (INVALID naming the
-- path, never raised) and what is accepted. `values.lua <case>`.
local queue = require("queue")
local errors = require("errors")
local t = require("testlib")

local function refused(data, fragment, what, headers)
  local ok, err = queue.publish("app:packed", data, headers)
  t.eq(ok, nil, what)
  t.is_error(err, errors.INVALID, false, what)
  t.check(err:message():find(fragment, 1, true), what .. ": message '" .. err:message() .. "' should mention '" .. fragment .. "'")
end

local function accepted(data, what, headers)
  local ok, err = queue.publish("app:packed", data, headers)
  t.check(ok == true, what .. ": " .. tostring(err))
end

local cases = {}

function cases.functions() refused({cb = function() end}, "data.cb: function", "function value") end
function cases.userdata() refused({f = io.stdout}, "data.f: userdata", "userdata value") end
function cases.threads() refused({co = coroutine.create(function() end)}, "thread", "coroutine value") end
function cases.top_level_function() refused(print, "function", "function as data") end
function cases.nan() refused({x = 0/0}, "NaN", "NaN") end
function cases.inf() refused({list = {1, math.huge}}, "data.list[2]: NaN and infinity", "infinity in an array") end
function cases.cycle()
  local a = {name = "a"}
  a.self = a
  refused(a, "cycle", "self-referencing table")
  local b = {1, 2}
  b[3] = {b}
  refused(b, "cycle", "cycle through an array")
end
function cases.shared_subtable_is_not_a_cycle()
  local shared = {x = 1}
  accepted({a = shared, b = shared}, "same table twice")
end
function cases.depth()
  local v = "leaf"
  for _ = 1, 64 do v = {v} end
  accepted(v, "64 levels")
  refused({v}, "deeper than 64", "65 levels")
end
function cases.mixed_keys() refused({1, 2, x = 3}, "mixes integer and string keys", "array + map keys") end
function cases.sparse_array() refused({[1] = "a", [3] = "c"}, "outside the sequence", "sparse array") end
function cases.float_keys() refused({[1.5] = "x"}, "number keys", "float key") end
function cases.boolean_keys() refused({[true] = "x"}, "boolean keys", "boolean key") end
function cases.scalars()
  accepted("a string body", "string")
  accepted(42, "integer")
  accepted(4.25, "float")
  accepted(true, "boolean true")
  accepted(false, "boolean false")
  accepted("\0binary\255", "binary string (msgpack)")
end
function cases.binary_on_json()
  local ok, err = queue.publish("app:tasks", {b = "\255\254"})
  t.eq(ok, nil, "invalid UTF-8 on a JSON queue")
  t.is_error(err, errors.INVALID, false, "invalid UTF-8 on a JSON queue")
end
function cases.headers()
  accepted("x", "typed headers", {s = "v", i = 1, f = 1.5, b = false})
  refused("x", "header 'bad': table", "table header value", {bad = {}})
  refused("x", "header 'fn': function", "function header value", {fn = print})
  refused("x", "header keys must be strings", "integer header key", {"positional"})
  refused("x", "header 'n': NaN", "NaN header", {n = 0/0})
end

return t.run(cases, arg and arg[1])
