-- A live call's transcript: lines from Twilio's transcription callbacks, and its state.
--
-- KEYS[1] change feed (stream), KEYS[2] the live index (sorted set of live conferences)
-- then, for each event i (from 0): KEYS[3+4i] the conference document,
-- KEYS[4+4i] the transcript's index (sorted set "<TranscriptionSid>:<SequenceId>" -> ms),
-- KEYS[5+4i] its final lines (hash, same members -> line JSON),
-- KEYS[6+4i] its registers (hash: per transcription and track the newest final's
--   SequenceId "<GT>|<speaker>|f" and the newest partial "<GT>|<speaker>|p"; "ctx", until
--   when lines are masked harder because the call spoke of a card; "paused" while paused)
-- ARGV[1] feed MAXLEN, ARGV[2] final lines kept per call, ARGV[3] seconds the transcript
-- is kept after its first line, ARGV[4] ms the card context lasts,
-- ARGV[5..] the events, JSON (live/transcript.py)
--
-- Returns {outcome1, feed id1 or "", ...}. Outcomes: applied, duplicate, stale (a partial
-- older than a final of its track), paused (nothing is kept while a call is paused for a
-- payment), ended (no longer live), unknown (no such conference), unchanged.
--
-- Cost: a line is the hot path (a partial every few hundred ms per speaking call). A
-- partial never reads the conference document (its liveness is the live index, its pause
-- a register); a final reads and writes it (the call's last line, phrase hits) but puts
-- the conference on the feed only when a phrase alert changes it: the line itself goes
-- out as a `transcript` entry, and readers of the floor see the last line on their next
-- read (the board's next pass, which that very entry wakes).
--
-- Why the transcript does not depend on arrival order: a final line is kept under its
-- SequenceId (a repeat is a duplicate); a track's partial is a register that only a newer
-- SequenceId replaces, and any final at or after it removes; so the lines shown are the
-- finals and, per track, the newest partial newer than every final: the same set in any
-- order. The conference's last line is the newest final by time.

local FEED, LIVE = KEYS[1], KEYS[2]
local maxlen = ARGV[1]
local max_lines = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local ctx_ms = tonumber(ARGV[4])
local MAX_HITS = 20

local function publish(sid, line)
  return redis.call('XADD', FEED, 'MAXLEN', '~', maxlen, '*', 'k', 'transcript', 'sid', sid,
    'doc', cjson.encode(line))
end

local function save(DOC, c, announce)
  local doc = cjson.encode(c)
  redis.call('SET', DOC, doc, 'KEEPTTL')
  if announce then
    redis.call('XADD', FEED, 'MAXLEN', '~', maxlen, '*', 'k', 'conference', 'sid', c.sid,
      'doc', doc)
  end
end

local function line_one(ev, sid, DOC, IDX, LINES, REGS)
  local regs = redis.call('HMGET', REGS, 'paused', 'ctx')
  if regs[1] then return 'paused', '' end
  local card_until = tonumber(regs[2] or '0')
  local text = ev.t
  if ev.tc and ev.at <= card_until then text = ev.tc end
  if ev.card then
    local later = ev.at + ctx_ms
    if later > card_until then redis.call('HSET', REGS, 'ctx', later) end
  end
  local fkey = ev.gt .. '|' .. ev.s .. '|f'
  local pkey = ev.gt .. '|' .. ev.s .. '|p'
  local final_seq = tonumber(redis.call('HGET', REGS, fkey) or '-1')
  local line = {s = ev.s, t = text, at = ev.at, q = ev.seq, f = ev.final, g = ev.gt}

  if not ev.final then
    if ev.seq <= final_seq then return 'stale', '' end
    local current = redis.call('HGET', REGS, pkey)
    if current and cjson.decode(current).q >= ev.seq then return 'duplicate', '' end
    redis.call('HSET', REGS, pkey, cjson.encode(line))
    if final_seq < 0 then redis.call('EXPIRE', REGS, ttl) end  -- dated once, at its start
    return 'applied', publish(sid, line)
  end

  local member = ev.gt .. ':' .. ev.seq
  if redis.call('ZADD', IDX, 'NX', ev.at, member) == 0 then return 'duplicate', '' end
  redis.call('HSET', LINES, member, cjson.encode(line))
  local kept = redis.call('ZCARD', IDX)
  if kept == 1 then
    -- The transcript's keys are dated when it starts: kept `ttl` after (its archive copy is
    -- made when the call ends; a live call does not last a day).
    for _, k in ipairs({IDX, LINES, REGS}) do redis.call('EXPIRE', k, ttl) end
  end
  local extra = kept - max_lines
  if extra > 0 then
    -- A long call keeps its newest lines: the transcript of a live call is bounded.
    local gone = redis.call('ZPOPMIN', IDX, extra)
    for i = 1, #gone, 2 do redis.call('HDEL', LINES, gone[i]) end
  end
  if ev.seq > final_seq then
    redis.call('HSET', REGS, fkey, ev.seq)
    local current = redis.call('HGET', REGS, pkey)
    if current and cjson.decode(current).q < ev.seq then redis.call('HDEL', REGS, pkey) end
  end
  local id = publish(sid, line)
  local raw = redis.call('GET', DOC)
  if not raw then return 'applied', id end
  local c = cjson.decode(raw)
  local tx = c.tx or {}
  local changed, alerting = false, false
  if tx.last == nil or ev.at >= tx.last.at then
    tx.last = {s = ev.s, t = text, at = ev.at}
    changed = true
  end
  if ev.hits then
    if c.ph == nil then c.ph = {} end
    for _, phrase in ipairs(ev.hits) do
      table.insert(c.ph, {p = phrase, s = ev.s, t = text, at = ev.at})
    end
    while #c.ph > MAX_HITS do table.remove(c.ph, 1) end
    changed, alerting = true, true
  end
  if changed then
    c.tx = tx
    save(DOC, c, alerting)
  end
  return 'applied', id
end

-- The transcription's own state: started, stopped, failed (Twilio's callbacks and
-- answers), pause / resume (a payment), mute (a supervisor silences the phrase alerts
-- raised so far on this call).
local function state_one(ev, c, DOC, REGS)
  local tx = c.tx or {}
  local before = cjson.encode(tx)
  local what = ev.what
  if what == 'started' then
    if tx.st ~= 'paused' then
      tx.st = 'on'
      tx.gt = ev.gt
      tx.call = ev.call
      tx.err = nil
      if ev.lang then tx.lang = ev.lang end
    end
  elseif what == 'stopped' then
    if tx.gt == ev.gt and (tx.st == 'on' or tx.st == 'error') then tx.st = 'off' end
  elseif what == 'failed' then
    if tx.gt == nil or tx.gt == ev.gt then
      tx.st = 'error'
      tx.err = ev.err
    end
  elseif what == 'pause' then
    if tx.st == 'paused' then return 'unchanged', '' end
    tx.st = 'paused'
    tx.by = ev.by
    tx.since = ev.at
    redis.call('HSET', REGS, 'paused', '1')
    redis.call('EXPIRE', REGS, ttl)
  elseif what == 'resume' then
    if tx.st ~= 'paused' then return 'unchanged', '' end
    tx.st = 'off'
    tx.by = nil
    tx.since = ev.at
    redis.call('HDEL', REGS, 'paused')
  elseif what == 'mute' then
    if c.phm == nil then c.phm = {} end
    local any = false
    for _, hit in ipairs(c.ph or {}) do
      if c.phm[hit.p] == nil then
        c.phm[hit.p] = {by = ev.by, at = ev.at}
        any = true
      end
    end
    if not any then return 'unchanged', '' end
    save(DOC, c, true)
    return 'applied', ''
  end
  if cjson.encode(tx) == before then return 'unchanged', '' end
  c.tx = tx
  save(DOC, c, true)
  return 'applied', ''
end

local out = {}
for i = 5, #ARGV do
  local base = 3 + 4 * (i - 5)
  local DOC, REGS = KEYS[base], KEYS[base + 3]
  local ev = cjson.decode(ARGV[i])
  local outcome, id = 'unknown', ''
  if ev.op == 'line' then
    if redis.call('ZSCORE', LIVE, ev.cf) then
      outcome, id = line_one(ev, ev.cf, DOC, KEYS[base + 1], KEYS[base + 2], REGS)
    elseif redis.call('EXISTS', DOC) == 1 then
      outcome = 'ended'
    end
  else
    local raw = redis.call('GET', DOC)
    if raw then
      local c = cjson.decode(raw)
      if c.status == 'completed' then
        outcome = 'ended'
      else
        outcome, id = state_one(ev, c, DOC, REGS)
      end
    end
  end
  out[#out + 1] = outcome
  out[#out + 1] = id
end
return out
