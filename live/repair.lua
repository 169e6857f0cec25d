-- Repair one conference from Twilio's own view of it (the reconciler, coach/reconciler.py).
--
-- KEYS[1] the conference document, KEYS[2] live index, KEYS[3] call index,
-- KEYS[4] change feed, KEYS[5] the conference's timeline
-- ARGV[1] the document's SequenceNumber when the reconciler read it, before
--         asking Twilio ("-1": there was no document)
-- ARGV[2] Twilio's view (JSON): {sid, fn, started, participants: [{call_sid,
--         label, muted, hold, coaching, coach, eoe, joined, updated}]},
--         connected participants only
-- ARGV[3] now (ms), ARGV[4] feed MAXLEN
--
-- Returns {result, repairs JSON}: result is repaired | unchanged | busy | ended.
--
-- Why this cannot undo a newer callback: it runs only if no callback was
-- applied since the reconciler read the document (the SequenceNumber is the
-- same), and so Twilio's view is newer than the document. Each register it
-- sets is stamped with that SequenceNumber, so any later callback still wins
-- over the repair exactly as it would over the events it replaced.

local DOC, LIVE, CALLS, FEED, TIMELINE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local expected = tonumber(ARGV[1])
local twilio = cjson.decode(ARGV[2])
local now = tonumber(ARGV[3])
local maxlen = ARGV[4]

local raw = redis.call('GET', DOC)
local c
if raw then
  c = cjson.decode(raw)
  if c.status == 'completed' then return {'ended', '{}'} end
  if c.seq ~= expected then return {'busy', '{}'} end
else
  if expected ~= -1 then return {'busy', '{}'} end
  c = {sid = twilio.sid, fn = twilio.fn, status = 'in-progress', seq = 0, p = {}, mon = {},
       started = twilio.started, updated = now}
end

local stamp = c.seq
local repairs = {}
local learned = false
local function count(kind)
  repairs[kind] = (repairs[kind] or 0) + 1
end
if not raw then count('conference-added') end

local at_twilio = {}
for _, tp in ipairs(twilio.participants) do
  at_twilio[tp.call_sid] = true
  local p = c.p[tp.call_sid]
  if p == nil then
    p = {call_sid = tp.call_sid, ps = 0, fs = 0, ss = 0, present = false, muted = false,
         hold = false, coaching = false, coach = '', speaking = false}
    c.p[tp.call_sid] = p
  end
  if (p.label == nil or p.label == '') and tp.label ~= '' then p.label = tp.label end
  if not p.present then
    p.present = true
    p.ps = stamp
    p.left = nil
    if p.joined == nil then p.joined = tp.joined end
    redis.call('HSET', CALLS, tp.call_sid, c.sid)
    if raw then count('participant-added') end
  end
  -- The coached leg is not in Twilio's callbacks, so a coaching leg may have no target
  -- here yet: learning it from the Participant resource is not a repair (nothing was
  -- wrong); a different one is.
  if p.coaching and tp.coaching and (p.coach or '') == '' and tp.coach ~= '' then
    p.coach = tp.coach
    learned = true
  end
  if p.muted ~= tp.muted or p.hold ~= tp.hold or p.coaching ~= tp.coaching
     or p.coach ~= tp.coach then
    if raw then count('flags') end
    if tp.hold and not p.hold then
      -- The hold began at Twilio's last update of the participant, at the latest.
      p.hold_since = tp.updated
      p.ht = {{stamp, tp.updated}}
    elseif not tp.hold then
      p.hold_since = nil
      p.ht = {}
      p.hu = stamp
    end
    p.muted, p.hold, p.coaching, p.coach, p.eoe = tp.muted, tp.hold, tp.coaching, tp.coach, tp.eoe
    p.fs = stamp
  end
end
for call_sid, p in pairs(c.p) do
  if p.present and not at_twilio[call_sid] then
    p.present = false
    p.ps = stamp
    p.left = now
    p.speaking = false
    redis.call('HDEL', CALLS, call_sid)
    count('participant-removed')
  end
end

if next(repairs) == nil then
  if learned then redis.call('SET', DOC, cjson.encode(c)) end
  return {'unchanged', '{}'}
end
c.repaired = now
if c.updated == nil or now > c.updated then c.updated = now end
local doc = cjson.encode(c)
redis.call('SET', DOC, doc)
redis.call('ZADD', LIVE, c.started or now, c.sid)
redis.call('RPUSH', TIMELINE, now .. '|' .. stamp .. '|rp|||' .. cjson.encode(repairs))
feed_add(FEED, maxlen, 'conference', c.sid, doc)
return {'repaired', cjson.encode(repairs)}
