-- testlib.lua -- tiny assertion helpers for the Lua tests (scripts and handlers).
local queue = require("queue")
local errors = require("errors")

local t = {}

local function describe(v)
  return string.format("%s (%s)", tostring(v), math.type(v) or type(v))
end

function t.eq(actual, expected, what)
  if actual ~= expected or math.type(actual) ~= math.type(expected) then
    error(string.format("%s: expected %s, got %s", what, describe(expected), describe(actual)), 2)
  end
end

function t.check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end

-- err must be an errors value of `kind` with the given retryable flag.
function t.is_error(err, kind, retryable, what)
  if not errors.is(err) then error(what .. ": expected an error value, got " .. describe(err), 2) end
  if err:kind() ~= kind then error(what .. ": expected kind " .. kind .. ", got " .. tostring(err), 2) end
  if err:retryable() ~= retryable then
    error(what .. ": expected retryable=" .. tostring(retryable) .. " for " .. tostring(err), 2)
  end
end

-- Deep equality that also tells integers from floats. Returns ok, path.
function t.same(a, b, path)
  path = path or "value"
  if type(a) ~= type(b) or math.type(a) ~= math.type(b) then
    return false, path .. ": " .. describe(a) .. " vs " .. describe(b)
  end
  if type(a) ~= "table" then
    if a == b then return true end
    return false, path .. ": " .. describe(a) .. " vs " .. describe(b)
  end
  for k, v in pairs(a) do
    local ok, where = t.same(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, where end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) .. " missing" end
  end
  return true
end

function t.count(queue_id)
  local info, err = queue.info(queue_id)
  if not info then error("queue.info(" .. queue_id .. "): " .. tostring(err), 2) end
  return info.messages or 0, info.in_flight or 0
end

-- Waits until `queue_id` holds exactly n ready messages and none in flight.
-- The bound only turns a hang into a failure (no timing is asserted).
function t.wait_count(queue_id, n)
  for _ = 1, 6000 do
    local ready, in_flight = t.count(queue_id)
    if ready == n and in_flight == 0 then return end
    os.execute("sleep 0.01")
  end
  local ready, in_flight = t.count(queue_id)
  error(string.format("%s: waited for %d messages, have %d ready / %d in flight", queue_id, n, ready, in_flight), 2)
end

-- Runs cases[arg[1]] (one ctest case per name), or every case when no name is given.
function t.run(cases, name)
  if name then
    local case = cases[name]
    if not case then error("unknown case '" .. name .. "'") end
    case()
    print("ok " .. name)
    return 0
  end
  local names = {}
  for n in pairs(cases) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do
    cases[n]()
    print("ok " .. n)
  end
  return 0
end

return t
