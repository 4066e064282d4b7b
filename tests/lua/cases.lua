-- cases.lua -- values that must survive publish -> codec -> handler unchanged.
-- Shared by values_roundtrip.lua (publisher) and handlers.lua (check_value).
local cases = {
  string = "hello",
  utf8 = "héllo wörld ✓",
  integer = 456,
  negative = -9007199254740993,
  float = 1.5,
  whole_float = 2.0,
  boolean_true = true,
  boolean_false = false,
  array = {1, 2, 3, "four", 5.5, true},
  map = {action = "send_email", user_id = 456, template = "welcome"},
  nested = {user = {id = 7, tags = {"a", "b"}, scores = {1.25, 2}}, list = {{x = 1}, {x = 2.5}}},
  empty_nested = {items = {}},
  deep = (function()
    local v = "leaf"
    for _ = 1, 60 do v = {v} end
    return v
  end)(),
}
-- Raw bytes (not UTF-8): only the msgpack codec carries them.
local binary = {binary = "\0\1\2\255\254 bytes \0 end"}

return {all = cases, binary = binary}
