-- A handler module: loading it only defines the function.
local M = {}
function M.handle(payload)
  print("handled " .. tostring(payload.n))
  return true
end
return M
