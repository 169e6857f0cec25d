-- Apply a batch of Twilio conference status callbacks to the live floor.
--
-- KEYS[1] live index: sorted set SID -> start time (ms)
-- KEYS[2] call index: hash CallSid -> ConferenceSid
-- KEYS[3] change feed (stream)
-- KEYS[4] supervisor index, KEYS[5] leg index, KEYS[6] dialing legs (see monitor.lua)
-- KEYS[7] ended conferences still to archive (sorted set SID -> end ms, archive/archiver.py)
-- KEYS[8] legs that left: hash CallSid -> "<ConferenceSid> <label>", KEYS[9] until when each
-- is kept (sorted set CallSid -> ms): a late transcription callback finds its call (live/late.py)
-- then, for each event i (from 0): KEYS[10+4i] its conference document (JSON
-- string), KEYS[11+4i] the bitmap of that conference's applied
-- SequenceNumbers, KEYS[12+4i] the idempotency tokens taken for it (set),
-- KEYS[13+4i] its event timeline (a list, in arrival order; readers sort it by time).
-- ARGV[1] feed MAXLEN (approximate trim)
-- ARGV[2] seconds an ended conference is kept for history
-- ARGV[3] seconds a leg that left is still found by its CallSid (live/late.py left_seconds)
-- ARGV[4..] the events, 10 values each (live.events.ConferenceEvent.script_args): ConferenceSid,
-- FriendlyName, event, SequenceNumber, time (ms), CallSid or "", then label, flags, reason and
-- idempotency token, each "" when absent (see event_at)
--
-- Every key shares the floor's hash tag, so a batch is legal on a Cluster.
-- Events are applied one after the other, in the order given, each exactly
-- as if alone; batching only saves round trips (live/batching.py).
--
-- Returns {outcome1, feed id1 or "", monitors1, outcome2, ...}: three values an event, where
-- monitors is how many supervisors are on the conference after the event (as it ended, for
-- an end; 0 for a duplicate or a stale one): the coach records each one's leave at an end,
-- turns a whisper back to listen when the agent leaves, and reads nothing when there are
-- none (issue 29: an agent's leave read the whole document back to find no whisperer); an
-- outcome is one of
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

local LIVE, CALLS, FEED = KEYS[1], KEYS[2], KEYS[3]
local SUPERVISORS, LEGS, DIALING, ENDED = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local LEFT, LEFT_UNTIL = KEYS[8], KEYS[9]
local maxlen = ARGV[1]
local history = tonumber(ARGV[2])
local left_ms = tonumber(ARGV[3]) * 1000
-- Legs forgotten per call end, at most: each end prunes more than it adds, so `LEFT` stays
-- the legs of the last ARGV[3] seconds.
local PRUNE = 100

-- A leg that leaves (or whose call ends) stays findable by its CallSid for a while: Twilio's
-- transcription finals and retries trail the hang-up (live/late.py).
local function remember_left(call_sid, c, p, ts)
  redis.call('HSET', LEFT, call_sid, c.sid .. ' ' .. (p.label or ''))
  redis.call('ZADD', LEFT_UNTIL, ts + left_ms, call_sid)
end

local function prune_left(now)
  local gone = redis.call('ZRANGEBYSCORE', LEFT_UNTIL, '-inf', now, 'LIMIT', 0, PRUNE)
  if #gone > 0 then
    redis.call('HDEL', LEFT, unpack(gone))
    redis.call('ZREM', LEFT_UNTIL, unpack(gone))
  end
end
-- A conference's timeline keeps its newest events only: a call held and
-- resumed all afternoon must not grow without bound.
local TIMELINE_MAX = 200

-- The call page's timeline: each new (not duplicate) event, speech excepted
-- (speech turns come every few seconds and are shown as "speaking now"). A
-- list in arrival order, one RPUSH (its reader sorts by time, so late
-- arrivals still sort into place). An entry is compact text,
-- "<ms>|<seq>|<event code>|<label>|<coaching>|<reason>": ten thousand live
-- calls keep their timelines in a few megabytes.
local CODES = {['conference-start'] = 'cs', ['conference-end'] = 'ce',
  ['participant-join'] = 'pj', ['participant-leave'] = 'pl', ['participant-mute'] = 'pm',
  ['participant-unmute'] = 'pu', ['participant-hold'] = 'ph', ['participant-unhold'] = 'pr',
  ['participant-modify'] = 'pc', ['announcement-end'] = 'ae', ['announcement-fail'] = 'af'}
local function record(TIMELINE, ev)
  local code = CODES[ev.ev]
  if code == nil then return end
  local coaching = ''
  if ev.flags and ev.flags.coaching then coaching = '1' end
  -- A leg with no label yet (TaskRouter's conference instruction labels none) is named by
  -- its CallSid, "call:CA…": its reader says who it was once the document knows (a trial
  -- found every routed call's timeline anonymous: "a participant joined").
  local label = ev.label or ''
  if label == '' and ev.call then label = 'call:' .. ev.call end
  label = string.gsub(label, '|', '/')  -- the separator never inside a field
  local entry = ev.ts .. '|' .. ev.seq .. '|' .. code .. '|' .. label .. '|' .. coaching .. '|'
    .. (ev.reason or '')
  if redis.call('RPUSH', TIMELINE, entry) > TIMELINE_MAX then
    redis.call('LTRIM', TIMELINE, -TIMELINE_MAX, -1)
  end
end

-- The batch's documents, each read and decoded once, however many of the batch's events
-- are about its conference, and written once at the end (issue 29's profile: decoding and
-- encoding the whole document an event was most of this script's cost). DOC key -> {c the
-- document, raw its JSON while c has not changed since, mode how it is to be written
-- ('plain'; 'keep' its expiry; 'ex' expire after `history`; nil not at all), live whether
-- an event of the batch changed it (the live index is written once, at the end, too), legs
-- each participant's JSON ("<CallSid>":{...}) while it has not changed since}.
-- Every event still sees exactly the document the events before it left: the table is the
-- one they changed, and the script writes no value that JSON would read back otherwise.
local docs = {}
local touched = {}

local function doc_of(DOC, ev)
  local d = docs[DOC]
  if d == nil then
    local raw = redis.call('GET', DOC)
    if raw then
      d = {c = cjson.decode(raw), raw = raw, legs = {}}
    else
      d = {c = {sid = ev.cf, fn = ev.fn, status = 'init', seq = 0, p = {}, mon = {}}, legs = {}}
    end
    docs[DOC] = d
    touched[#touched + 1] = DOC
  end
  return d
end

-- The document's JSON as it is now (encoded once for each state a feed entry carries).
-- Most events change one participant: the others' JSON is kept from the last encoding and
-- only the changed one and the conference's own fields are encoded again (cjson writes a
-- number with sprintf, ~0.5 us each, and a participant has a dozen). The same JSON as
-- cjson.encode(c) gives, up to the order of keys (which cjson does not keep either).
local function encoded(d)
  if d.raw ~= nil then return d.raw end
  local c = d.c
  local legs = c.p
  if type(legs) ~= 'table' or next(legs) == nil then
    d.raw = cjson.encode(c)
    return d.raw
  end
  local parts = {}
  for call_sid, p in pairs(legs) do
    local json = d.legs[call_sid]
    if json == nil then
      if type(call_sid) ~= 'string' then  -- never written by Earpiece: cjson decides
        d.raw = cjson.encode(c)
        return d.raw
      end
      json = cjson.encode(call_sid) .. ':' .. cjson.encode(p)
      d.legs[call_sid] = json
    end
    parts[#parts + 1] = json
  end
  c.p = nil
  local rest = cjson.encode(c)
  c.p = legs
  if rest == '{}' then rest = '}' else rest = ',' .. string.sub(rest, 2) end
  d.raw = '{"p":{' .. table.concat(parts, ',') .. '}' .. rest
  return d.raw
end

-- The event changed the document (or may have): note how it is to be written. Writes
-- in a row come to the last one's value; a KEEPTTL write keeps the expiry an earlier
-- write of the batch set.
local function written(d, mode)
  d.raw = nil
  if mode ~= 'keep' or d.mode == nil then d.mode = mode end
end

-- How many supervisors are on the conference (its monitors, connected or on their way).
local function monitor_count(c)
  local n = 0
  for _ in pairs(c.mon or {}) do n = n + 1 end
  return n
end

local function apply_one(ev, DOC, SEEN, TOKENS, TIMELINE)
  if ev.tok and redis.call('SADD', TOKENS, ev.tok) == 0 then
    return 'duplicate', ''
  end
  if redis.call('SETBIT', SEEN, ev.seq, 1) == 1 then
    return 'duplicate', ''
  end

  local d = doc_of(DOC, ev)
  local c = d.c
  -- Ended is terminal: nothing after the end counts, and an event from before
  -- the end that arrives late completes the history (start time, who was
  -- there) without touching the live indexes or the feed.
  local ended = c.status == 'completed'
  if ended and ev.seq > c.end_seq then
    return 'stale', ''
  end
  record(TIMELINE, ev)
  if ended and redis.call('TTL', TIMELINE) < 0 then redis.call('EXPIRE', TIMELINE, history) end

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
    -- A real-time transcription is of one live call's audio, so it ends with the call, and
    -- its `transcription-stopped` may come after the end, when live/transcript.lua takes no
    -- more state changes of the call (a call hung up right after its last words): the
    -- ended call's transcript is off, not "on" for ever. A failed one keeps its error, a
    -- paused one says who paused it (QA reads why its last words are missing).
    -- (https://www.twilio.com/docs/voice/twiml/transcription: "transcribe live calls")
    if type(c.tx) == 'table' and c.tx.st == 'on' then
      c.tx.st = 'off'
    end
    for call_sid, p in pairs(c.p) do
      if p.present then
        redis.call('HDEL', CALLS, call_sid)
      end
      remember_left(call_sid, c, p, ts)
    end
    prune_left(ts)
    redis.call('ZREM', LIVE, c.sid)
    -- To the archive, once its last callbacks had a moment to land (archive/archiver.py).
    redis.call('ZADD', ENDED, ts, c.sid)
    -- Monitors end with the call; the ended document keeps them for the audit.
    for sup, m in pairs(c.mon or {}) do
      if redis.call('HGET', SUPERVISORS, sup) == c.sid then redis.call('HDEL', SUPERVISORS, sup) end
      if m.call_sid and m.call_sid ~= '' then
        redis.call('HDEL', LEGS, m.call_sid)
        redis.call('ZREM', DIALING, m.call_sid)
      end
    end
    written(d, 'ex')
    local doc = encoded(d)
    redis.call('EXPIRE', SEEN, history)
    redis.call('EXPIRE', TOKENS, history)
    redis.call('EXPIRE', TIMELINE, history)
    local id = feed_add(FEED, maxlen, 'ended', c.sid, doc)
    return 'applied', id, monitor_count(c)
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
    d.legs[ev.call] = nil  -- this participant's JSON is encoded again
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
      -- When it left is the newest presence event's time, whatever the order.
      local left = nil
      if not present then left = ts end
      if p.left ~= left then
        p.left = left
        changed = true
      end
      if present ~= p.present then
        p.present = present
        changed = true
        if present then
          if not ended then redis.call('HSET', CALLS, ev.call, c.sid) end
        else
          if not ended then redis.call('HDEL', CALLS, ev.call) end
          remember_left(ev.call, c, p, ts)
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
      -- Total time on hold: each run is added when it ends (exact when the
      -- hold and its unhold arrive in order, as they nearly always do).
      if p.hold and not f.hold and p.hold_since and ts >= p.hold_since then
        p.hold_total = (p.hold_total or 0) + (ts - p.hold_since)
      end
      -- Twilio's conference callbacks carry Coaching but not CallSidToCoach (the
      -- <Conference> TwiML page's parameter table): a coaching leg keeps the target
      -- Earpiece knew (from the Participant resource on repair); only the end of
      -- coaching clears it. An event that does name one (hand-made) is taken.
      local coach = p.coach or ''
      if not f.coaching then coach = '' elseif f.coach ~= '' then coach = f.coach end
      if p.muted ~= f.muted or p.hold ~= f.hold or p.coaching ~= f.coaching or p.coach ~= coach
         or p.eoe ~= f.eoe then
        changed = true
      end
      p.muted = f.muted
      p.hold = f.hold
      p.coaching = f.coaching
      p.coach = coach
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

    -- Speech: the newest speech event wins, and dates the participant's
    -- last change (when silence began, for dead air). A turn's length is
    -- added to the participant's talk time when it stops (exact in order).
    if (ev.ev == 'participant-speech-start' or ev.ev == 'participant-speech-stop') and ev.seq > p.ss then
      p.ss = ev.seq
      local speaking = ev.ev == 'participant-speech-start'
      if p.speaking and not speaking and p.speech_at and ts >= p.speech_at then
        p.talk = (p.talk or 0) + (ts - p.speech_at)
      end
      if speaking ~= p.speaking or p.speech_at ~= ts then
        p.speaking = speaking
        p.speech_at = ts
        changed = true
      end
    end
    -- How many times the call went on hold: one per hold event (each is new here).
    if ev.ev == 'participant-hold' then
      c.holds = (c.holds or 0) + 1
      changed = true
    end
  end

  if ended then
    written(d, 'keep')
    return 'stale', ''
  end
  written(d, 'plain')
  if not changed then
    return 'unchanged', '', monitor_count(c)
  end
  d.live = true
  local id = feed_add(FEED, maxlen, 'conference', c.sid, encoded(d))
  return 'applied', id, monitor_count(c)
end

-- An optional value: "" absent, else "=" and the value.
local function optional(arg)
  if arg == '' then return nil end
  return string.sub(arg, 2)
end

-- The event of ARGV[i..i+9], as the table ConferenceEvent.for_script describes (one table
-- built from plain arguments: decoding a JSON argument cost more than most of an event's work).
local ONE = 49  -- the byte of "1"
local function event_at(i)
  local ev = {cf = ARGV[i], fn = ARGV[i + 1], ev = ARGV[i + 2], seq = tonumber(ARGV[i + 3]),
              ts = tonumber(ARGV[i + 4])}
  local call = ARGV[i + 5]
  if call ~= '' then
    ev.call = call
    ev.label = optional(ARGV[i + 6])
    local f = ARGV[i + 7]
    if f ~= '' then
      local muted, hold, coaching, eoe = string.byte(f, 1, 4)
      ev.flags = {muted = muted == ONE, hold = hold == ONE, coaching = coaching == ONE,
                  eoe = eoe == ONE, coach = string.sub(f, 5)}
    end
  end
  ev.reason = optional(ARGV[i + 8])
  ev.tok = optional(ARGV[i + 9])
  return ev
end

local WIDTH = 10
local out = {}
-- Redis does not roll back a script that fails part-way: an event that fails (a document
-- that does not decode, a key of the wrong type) must not take the documents of the events
-- before it in the batch with it, whose other writes (seen bits, feed entries) are made.
-- So the events run under pcall, the documents are written either way, then the error.
local ok, failure = pcall(function()
  for n = 0, (#ARGV - 3) / WIDTH - 1 do
    local base = 10 + 4 * n
    local outcome, id, monitors = apply_one(event_at(4 + WIDTH * n), KEYS[base],
      KEYS[base + 1], KEYS[base + 2], KEYS[base + 3])
    out[#out + 1] = outcome
    out[#out + 1] = id
    out[#out + 1] = monitors or 0
  end
end)
-- Each document once, as its batch left it (the script is atomic: nobody reads between).
for _, key in ipairs(touched) do
  local d = docs[key]
  if d.mode == 'ex' then
    redis.call('SET', key, encoded(d), 'EX', history)
  elseif d.mode == 'keep' then
    redis.call('SET', key, encoded(d), 'KEEPTTL')
  elseif d.mode == 'plain' then
    redis.call('SET', key, encoded(d))
  end
  -- Still live after the batch and changed by it: in the live index by its start.
  if d.live and d.c.status ~= 'completed' then redis.call('ZADD', LIVE, d.c.started, d.c.sid) end
end
if not ok then error(failure) end
return out
