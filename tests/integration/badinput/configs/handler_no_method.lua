local M = {}
function M.other(payload) return true end
return M
