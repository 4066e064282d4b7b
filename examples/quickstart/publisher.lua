-- publisher.lua -- a process.lua entry: publishes three emails, then returns.
local queue = require("queue")

local recipients = {"ann@example.com", "bob@example.com", "cy@example.com"}

function main()
  for i, to in ipairs(recipients) do
    local ok, err = queue.publish("app:emails", {
      to = to,
      template = "welcome",
      n = i,
      total = #recipients,
    }, {priority = "high", correlation_id = "quickstart-" .. i})
    if err then
      return nil, err
    end
  end
end
