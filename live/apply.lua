-- Apply one Twilio conference status callback to the live floor, atomically.
--
-- KEYS[1] conference document (JSON string)
-- KEYS[2] bitmap of applied SequenceNumbers of that conference
-- KEYS[3] idempotency tokens taken for that conference (set)
-- KEYS[4] live index: sorted set SID -> start time (ms)
-- KEYS[5] call index: hash CallSid -> ConferenceSid
-- KEYS[6] change feed (stream)
-- ARGV[1] the event, JSON (live.events.ConferenceEvent.for_script)
-- ARGV[2] feed MAXLEN (approximate trim)
-- ARGV[3] seconds an ended conference is kept for history
--
-- Returns {outcome, feed id or ""}; outcome is one of
--   applied    the state changed; a feed entry was appended
--   unchanged  a new event that changed nothing visible (recorded as seen)
--   duplicate  this SequenceNumber or idempotency token was seen before
--   stale      the conference has ended; a late event does not bring it back
--              (one from before the end still completes its history)
--
-- Why the result does not depend on arrival order: every field is a
-- last-writer-wins register keyed by SequenceNumber (Twilio sends a
-- participant's whole flag set on each participant event), presence is a
-- register too (join/leave and any other participant event), start and join
-- times are minima unless the start/join event itself was seen, and the end
-- is terminal. Applying the events in any order gives the state of applying
-- them in SequenceNumber order.

local ev = cjson.decode(ARGV[1])
local maxlen = ARGV[2]
local history = tonumber(ARGV[3])

if ev.tok and redis.call('SADD', KEYS[3], ev.tok) == 0 then
  return {'duplicate', ''}
end
if redis.call('SETBIT', KEYS[2], ev.seq, 1) == 1 then
  return {'duplicate', ''}
end

local raw = redis.call('GET', KEYS[1])
local c
if raw then
  c = cjson.decode(raw)
else
  c = {sid = ev.cf, fn = ev.fn, status = 'init', seq = 0, p = {}, mon = {}}
end
-- Ended is terminal: nothing after the end counts, and an event from before
-- the end that arrives late completes the history (start time, who was
-- there) without touching the live indexes or the feed.
local ended = c.status == 'completed'
if ended and ev.seq > c.end_seq then
  return {'stale', ''}
end

local changed = false
local ts = ev.ts
if (c.fn == nil or c.fn == '') and ev.fn ~= '' then
  c.fn = ev.fn
  changed = true
end
if ev.seq > c.seq then c.seq = ev.seq end
if c.updated == nil or ts > c.updated then c.updated = ts end

if ev.ev == 'conference-end' then
  c.status = 'completed'
  c.ended = ts
  c.end_seq = ev.seq
  if ev.reason then c.reason = ev.reason end
  for call_sid, p in pairs(c.p) do
    if p.present then
      redis.call('HDEL', KEYS[5], call_sid)
    end
  end
  redis.call('ZREM', KEYS[4], c.sid)
  local doc = cjson.encode(c)
  redis.call('SET', KEYS[1], doc, 'EX', history)
  redis.call('EXPIRE', KEYS[2], history)
  redis.call('EXPIRE', KEYS[3], history)
  local id = redis.call('XADD', KEYS[6], 'MAXLEN', '~', maxlen, '*',
    'k', 'ended', 'sid', c.sid, 'doc', doc)
  return {'applied', id}
end

if c.status == 'init' then
  c.status = 'in-progress'
  changed = true
end
if ev.ev == 'conference-start' then
  if not c.start_seen or c.started ~= ts then
    c.started = ts
    c.start_seen = true
    changed = true
  end
elseif not c.start_seen and (c.started == nil or ts < c.started) then
  -- conference-start lost or not yet here: the earliest event dates it.
  c.started = ts
  changed = true
end

if ev.call then
  local p = c.p[ev.call]
  if p == nil then
    p = {call_sid = ev.call, ps = 0, fs = 0, ss = 0, present = false,
         muted = false, hold = false, coaching = false, coach = '', speaking = false}
    c.p[ev.call] = p
  end
  if ev.label and (p.label == nil or p.label == '') then
    p.label = ev.label
    changed = true
  end

  -- Presence: a leave makes the participant absent, any other participant
  -- event present (a lost join is implied by the participant's later events).
  if ev.seq > p.ps then
    p.ps = ev.seq
    local present = ev.ev ~= 'participant-leave'
    if present ~= p.present then
      p.present = present
      changed = true
      if present then
        if not ended then redis.call('HSET', KEYS[5], ev.call, c.sid) end
        p.left = nil
      else
        if not ended then redis.call('HDEL', KEYS[5], ev.call) end
        p.left = ts
      end
    end
  end
  -- Join time: the newest join wins (a leg can leave and rejoin); with no
  -- join seen yet, the participant's earliest event dates it.
  if ev.ev == 'participant-join' then
    if ev.seq > (p.js or 0) then
      p.js = ev.seq
      if p.joined ~= ts then
        p.joined = ts
        changed = true
      end
    end
  elseif p.js == nil and (p.joined == nil or ts < p.joined) then
    p.joined = ts
    changed = true
  end

  -- Flags: the newest event's whole flag set wins.
  local f = ev.flags
  if f then
    -- Hold runs, kept order-independent: the hold=true events after the
    -- newest hold=false one. The current hold began at the earliest of them.
    if p.hu == nil then p.hu = 0 end
    if p.ht == nil then p.ht = {} end
    if f.hold then
      if ev.seq > p.hu then table.insert(p.ht, {ev.seq, ts}) end
    elseif ev.seq > p.hu then
      p.hu = ev.seq
      local keep = {}
      for _, h in ipairs(p.ht) do
        if h[1] > ev.seq then table.insert(keep, h) end
      end
      p.ht = keep
    end
  end
  if f and ev.seq > p.fs then
    p.fs = ev.seq
    if p.muted ~= f.muted or p.hold ~= f.hold or p.coaching ~= f.coaching or p.coach ~= f.coach
       or p.eoe ~= f.eoe then
      changed = true
    end
    p.muted = f.muted
    p.hold = f.hold
    p.coaching = f.coaching
    p.coach = f.coach
    p.eoe = f.eoe
  end
  if f then
    local since = nil
    if p.hold then
      local first = nil
      for _, h in ipairs(p.ht) do
        if first == nil or h[1] < first[1] then first = h end
      end
      if first then since = first[2] end
    end
    if since ~= p.hold_since then
      p.hold_since = since
      changed = true
    end
  end

  -- Speech: the newest speech event wins.
  if (ev.ev == 'participant-speech-start' or ev.ev == 'participant-speech-stop') and ev.seq > p.ss then
    p.ss = ev.seq
    local speaking = ev.ev == 'participant-speech-start'
    if speaking ~= p.speaking then
      p.speaking = speaking
      p.speech_at = ts
      changed = true
    end
  end
end

local doc = cjson.encode(c)
if ended then
  redis.call('SET', KEYS[1], doc, 'KEEPTTL')
  return {'stale', ''}
end
redis.call('SET', KEYS[1], doc)
if not changed then
  return {'unchanged', ''}
end
redis.call('ZADD', KEYS[4], c.started, c.sid)
local id = redis.call('XADD', KEYS[6], 'MAXLEN', '~', maxlen, '*',
  'k', 'conference', 'sid', c.sid, 'doc', doc)
return {'applied', id}
