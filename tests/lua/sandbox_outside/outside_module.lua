-- outside_module.lua -- a Lua file outside the sandboxed entries' source directory (tests/lua/sandbox).
return "outside"
