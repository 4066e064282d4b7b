-- arg[1] = queue ID, arg[2] = "big" for a body over max_body_bytes, else an
-- empty one. A batch with one bad item must publish nothing: the script
-- prints the error and the queue depth afterwards.
local queue = require("queue")
local before = queue.info(arg[1])
local bad = arg[2] == "big" and {blob = string.rep("b", 4096)} or {}
local ok, err = queue.publish_batch(arg[1], {{n = 1}, {n = 2}, bad, {n = 4}})
if ok then print("batch accepted") return 0 end
print("batch refused: " .. err:kind() .. ": " .. err:message())
local info = assert(queue.info(arg[1]))
print("depth " .. tostring(info.messages - (before and before.messages or 0)) .. " after the refused batch")
return 3
