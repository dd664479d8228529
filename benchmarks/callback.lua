-- wrk script: POST a distinct Tencent metric callback on every request (an alarm storm).
--
-- wrk -s callback.lua URL -- TEMPLATE_FILE INSTANCE_POOL SLICE [INTERVAL_MS]
-- The template is a real Tencent body with @SESSION@, @INSTANCE@, @VALUE@ and @DURATION@ in
-- place of its values. Every request gets a fresh sessionId, unique across the run's wrk
-- invocations thanks to SLICE (so no body is a byte-identical duplicate); instances cycle
-- through a pool, so the first callback of each instance triggers
-- an alarm and the later ones repeat it, with a growing durationTime and a changing value.
--
-- With INTERVAL_MS the thread sends one request every INTERVAL_MS milliseconds on a fixed
-- schedule (slot n at start + n × INTERVAL_MS, whichever of its connections is free): an open
-- model, so a slow answer delays the schedule only when every connection is busy. How late the
-- sends were is printed by done() ("pacing: ..."), so a rate the stack could not take shows.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } alarmhub_timespec;
int clock_gettime(int clock_id, alarmhub_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("alarmhub_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local template
local pool
local slice
local counter = 0
local interval
local next_slot

-- Read back by done() through thread:get, hence globals.
late_max_ms = 0
late_sends = 0
slots = 0

local function paced_delay()
  local now = now_ms()
  if next_slot == nil then
    next_slot = now
  end
  local slot = next_slot
  next_slot = next_slot + interval
  slots = slots + 1
  if slot > now then
    return slot - now
  end
  local late = now - slot
  if late > 1 then
    late_sends = late_sends + 1
  end
  if late > late_max_ms then
    late_max_ms = late
  end
  return 0
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  template = file:read("*a")
  file:close()
  pool = tonumber(args[2])
  slice = args[3]
  interval = tonumber(args[4])
  if interval then
    -- wrk looks for delay() after init(), so only a paced run pays for the timer per request.
    delay = paced_delay
  end
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

function done(summary, latency, requests)
  local worst, late, total = 0, 0, 0
  for _, thread in ipairs(threads) do
    worst = math.max(worst, thread:get("late_max_ms"))
    late = late + thread:get("late_sends")
    total = total + thread:get("slots")
  end
  if total > 0 then
    io.write(string.format("pacing: slots %d, late %d, late_max_ms %.1f\n", total, late, worst))
  end
end
