-- forward.lua -- the scale-out test's handler: forwards each job's number and
-- the worker's process tag to the results queue, where the test counts them.
-- (A queue, not a file: each result is one whole message, whatever the
-- number of processes.)
local queue = require("queue")

function forward(payload)
  assert(queue.publish("it:results", {n = payload.n}))
end
