-- Prints the type and value of the headers the matrix publishes.
local queue = require("queue")
local M = {}
function M.handle(payload)
  local msg = queue.message()
  local out = {}
  for _, k in ipairs({"zip", "ver", "n", "f", "yes"}) do
    local v = msg:header(k)
    out[#out + 1] = k .. "=" .. (math.type(v) or type(v)) .. ":" .. tostring(v)
  end
  print("headers " .. table.concat(out, " "))
  return true
end
return M
