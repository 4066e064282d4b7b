-- record.lua -- the chaos consumers' handler: appends the processed message's
-- ID to this process's file ($QPLUG_CHAOS_OUT) as one whole line with ONE
-- write(2) (full buffering plus a flush per line; the file is opened with
-- O_APPEND, so the two workers of a process never interleave half lines).
-- Returning acks: a process killed between the write and the ack leaves an
-- ID that is processed again elsewhere, which the test counts as a duplicate.
local out

function record(payload)
  if out == nil then
    out = assert(io.open(assert(os.getenv("QPLUG_CHAOS_OUT"), "QPLUG_CHAOS_OUT is unset"), "a"))
    out:setvbuf("full")
  end
  assert(out:write(payload.id, "\n"))
  assert(out:flush())
end
