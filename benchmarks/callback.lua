-- wrk script: POST a distinct Tencent metric callback on every request (an alarm storm).
--
-- wrk -s callback.lua URL -- TEMPLATE_FILE INSTANCE_POOL SLICE
-- The template is a real Tencent body with @SESSION@, @INSTANCE@, @VALUE@ and @DURATION@ in
-- place of its values. Every request gets a fresh sessionId, unique across the run's wrk
-- invocations thanks to SLICE (so no body is a byte-identical duplicate); instances cycle
-- through a pool, so the first callback of each instance triggers
-- an alarm and the later ones repeat it, with a growing durationTime and a changing value.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local template
local pool
local slice
local counter = 0

function init(args)
  local file = assert(io.open(args[1], "rb"))
  template = file:read("*a")
  file:close()
  pool = tonumber(args[2])
  slice = args[3]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  -- Each thread walks the whole pool from its own offset.
  local instance = (counter + tid * 131) % pool
  local body = template
    :gsub("@SESSION@", string.format("%s-%d-%d", slice, tid, counter))
    :gsub("@INSTANCE@", string.format("ins-storm%04d", instance))
    :gsub("@VALUE@", string.format("%d.%03d", 90 + counter % 10, counter % 1000))
    :gsub("@DURATION@", tostring(60 * counter))
  return wrk.format(nil, nil, nil, body)
end
