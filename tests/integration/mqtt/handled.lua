-- Prints what it handled (run_waits_for_delayed.sh looks for the line).
local M = {}
function M.handle(payload)
  print("handled " .. tostring(payload.n))
  return true
end
return M
