-- trusted.lua -- under `security.sandbox: false` the whole standard library is there.
function main()
  for _, name in ipairs({"io", "debug", "package"}) do
    if type(_G[name]) ~= "table" then return nil, name .. " missing on a trusted host" end
  end
  if type(os.execute) ~= "function" or type(package.loadlib) ~= "function" then
    return nil, "os.execute / package.loadlib missing on a trusted host"
  end
  print("ok trusted host: full Lua")
end
