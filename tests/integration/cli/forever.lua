-- Loops forever after telling the test it is running (writes the file named
-- by QPLUG_TEST_MARKER), so only `qplug run`'s shutdown can end it.
function main()
  local path = os.getenv("QPLUG_TEST_MARKER")
  if path then
    local f = assert(io.open(path, "w"))
    f:write("running\n")
    f:close()
  end
  local n = 0
  while true do n = n + 1 end
end
