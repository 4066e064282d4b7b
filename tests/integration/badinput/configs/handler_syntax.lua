local M = {}
function M.handle(payload)
  return payload ==
end
return M
