-- escapes.lua -- every known way out of the Lua sandbox, one function each.
--
-- escapes[name](ctx) tries the escape from inside a sandboxed handler or
-- process script and returns `true, detail` when it got out (the policy
-- evaluator was bypassed, a host facility was reached, or the budget was
-- dodged), `false, detail` when the sandbox held. ctx carries what an
-- attacker would know: ctx.queue_so (path of queue.so), ctx.config (the
-- config file), ctx.outside (a directory holding outside_module.lua, outside
-- the entry's source directory).
local queue = require("queue")

local escapes = {}

-- A module table is "unrestricted" when it publishes where our actor may not.
local function publishes_secret(ctx, q, how)
  if type(q) ~= "table" or type(q.publish) ~= "function" then return false, how .. ": no queue module" end
  if type(q.configure) == "function" then
    local ok, err = q.configure(ctx.config)
    if not ok then return false, how .. ": configure failed: " .. tostring(err) end
  end
  local ok, err = q.publish("app:secret", {leak = how})
  return ok == true, how .. ": publish to app:secret -> " .. tostring(ok) .. ", " .. tostring(err)
end

local function attempt(f)
  local ok, escaped, detail = pcall(f)
  if not ok then return false, "raised: " .. tostring(escaped) end
  return escaped, detail
end

-- The finding itself: a second queue module from queue.so, configured
-- without an actor.
function escapes.loadlib(ctx)
  return attempt(function()
    local open = package.loadlib(ctx.queue_so, "luaopen_queue")
    if type(open) ~= "function" then return false, "loadlib: " .. tostring(open) end
    return publishes_secret(ctx, open(), "loadlib")
  end)
end

-- Re-require queue with package.cpath pointing at queue.so.
function escapes.require_cpath(ctx)
  return attempt(function()
    package.cpath = ctx.queue_so:gsub("queue%.so$", "?.so")
    package.loaded.queue = nil
    return publishes_secret(ctx, require("queue"), "require via cpath")
  end)
end

-- Call the C searcher directly.
function escapes.searchers(ctx)
  return attempt(function()
    package.cpath = ctx.queue_so:gsub("queue%.so$", "?.so")
    for _, searcher in ipairs(package.searchers) do
      local loader, where = searcher("queue")
      if type(loader) == "function" and where and tostring(where):find("%.so$") then
        return publishes_secret(ctx, loader("queue", where), "package.searchers")
      end
    end
    return false, "no searcher found queue.so"
  end)
end

-- A Lua file outside the entry's source directory, via package.path.
function escapes.require_path(ctx)
  return attempt(function()
    package.path = ctx.outside .. "/?.lua;" .. package.path
    local m = require("outside_module")
    return m == "outside", "required " .. tostring(m)
  end)
end

-- require must not walk out of the source directory by name.
function escapes.require_dotdot(ctx)
  return attempt(function()
    for _, name in ipairs({"..sandbox_outside.outside_module", "../sandbox_outside/outside_module",
                              ctx.outside .. "/outside_module", ctx.outside .. "/outside_module.lua"}) do
      local ok, m = pcall(require, name)
      if ok and m == "outside" then return true, "required " .. name end
    end
    return false, "no name escaped"
  end)
end

-- queue must always be the bound module, whatever package.loaded says.
function escapes.require_replaced_queue(ctx)
  return attempt(function()
    local real = queue.publish
    package.loaded.queue = {publish = function() return true end}
    local q = require("queue")
    package.loaded.queue = nil
    return q.publish ~= real, "require('queue') after replacing package.loaded.queue"
  end)
end

function escapes.os_execute(ctx)
  return attempt(function()
    local ok = os.execute("true")
    return ok == true, "os.execute -> " .. tostring(ok)
  end)
end

function escapes.os_getenv(ctx)
  return attempt(function()
    local home = os.getenv("PATH")
    return home ~= nil, "os.getenv('PATH') -> " .. tostring(home)
  end)
end

function escapes.io_popen(ctx)
  return attempt(function()
    local f = io.popen("echo escaped")
    local text = f:read("a")
    f:close()
    return text:find("escaped") ~= nil, "io.popen read " .. tostring(text)
  end)
end

function escapes.io_open(ctx)
  return attempt(function()
    local f = io.open(ctx.config, "r")
    local text = f and f:read("a")
    if f then f:close() end
    return text ~= nil, "io.open read " .. tostring(text and #text) .. " bytes"
  end)
end

function escapes.loadfile(ctx)
  return attempt(function()
    local f = loadfile(ctx.outside .. "/outside_module.lua")
    return f ~= nil and f() == "outside", "loadfile"
  end)
end

function escapes.dofile(ctx)
  return attempt(function()
    return dofile(ctx.outside .. "/outside_module.lua") == "outside", "dofile"
  end)
end

-- The binding's upvalue is the Binding userdata (runtime + actor).
function escapes.debug_getupvalue(ctx)
  return attempt(function()
    local name, value = debug.getupvalue(queue.publish, 1)
    return value ~= nil, "debug.getupvalue(queue.publish, 1) -> " .. tostring(name) .. ", " .. tostring(value)
  end)
end

-- Swap the publish closure's Binding for an unrestricted one: the actor changes.
function escapes.debug_setupvalue(ctx)
  return attempt(function()
    local open = package.loadlib(ctx.queue_so, "luaopen_queue")
    local other = open and open()
    local _, free = debug.getupvalue(other and other.publish or queue.info, 1)
    if other then other.configure(ctx.config) end
    debug.setupvalue(queue.publish, 1, free)
    local ok = queue.publish("app:secret", {leak = "setupvalue"})
    return ok == true, "publish after debug.setupvalue -> " .. tostring(ok)
  end)
end

function escapes.debug_registry(ctx)
  return attempt(function()
    local reg = debug.getregistry()
    return type(reg) == "table", "debug.getregistry -> " .. tostring(reg)
  end)
end

-- Bytecode is unchecked by the VM: loading it is a memory-safety hole.
function escapes.string_dump_load(ctx)
  return attempt(function()
    local chunk = string.dump(function() return "bytecode ran" end)
    local f = load(chunk, "dumped", "b")
    return f ~= nil and f() == "bytecode ran", "load(string.dump(f), 'b')"
  end)
end

function escapes.load_binary_default_mode(ctx)
  return attempt(function()
    -- a precompiled chunk from a literal (no string.dump needed)
    local header = "\27Lua"
    local f, err = load(header .. "\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0\0\0\0\0\0\0\0\0\0\40\119\64")
    return err == nil or not tostring(err):find("attempt to load a binary chunk", 1, true),
           "load(binary) -> " .. tostring(f) .. ", " .. tostring(err)
  end)
end

-- Finalizers run with debug hooks off: a loop there escapes the instruction budget.
function escapes.gc_finalizer(ctx)
  return attempt(function()
    local done = false
    setmetatable({}, {__gc = function()
      for _ = 1, 3000000 do end
      done = true
    end})
    collectgarbage()
    collectgarbage()
    return done, "a __gc finalizer ran 3e6 iterations past the budget"
  end)
end

-- A stopped collector is a way to exhaust the host's memory.
function escapes.gc_stop(ctx)
  return attempt(function()
    collectgarbage("stop")
    local stopped = not collectgarbage("isrunning")
    collectgarbage("restart")
    return stopped, "collectgarbage('stop')"
  end)
end

-- The module table is the binding's face: it must not be rewritable.
function escapes.queue_table_writable(ctx)
  return attempt(function()
    local real = queue.publish
    queue.publish = function() return true end
    local replaced = queue.publish ~= real
    queue.publish = real
    return replaced, "queue.publish replaced"
  end)
end

-- The string metatable must not hand out the shared string library.
function escapes.string_metatable(ctx)
  return attempt(function()
    local mt = getmetatable("")
    return type(mt) == "table", "getmetatable('') -> " .. tostring(mt)
  end)
end

return escapes
