-- arg[1] = queue ID: a header whose value is a table is refused, INVALID.
local queue = require("queue")
local ok, err = queue.publish(arg[1], {n = 1}, {nested = {1, 2}})
if ok then return 0 end
print("refused: " .. err:kind() .. ": " .. err:message())
return 3
