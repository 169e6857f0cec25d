-- One recording status change of a call (Twilio's callback, or Earpiece's own start, pause
-- and resume: coach/recording.py), applied so that the recording's state only moves forward.
--
-- KEYS[1] the call's recordings (hash RecordingSid -> JSON), KEYS[2] the index
-- RecordingSid -> ConferenceSid, KEYS[3] the archiver's seal of the conference,
-- KEYS[4] changes to archived calls (list: live/late.py), KEYS[5] until when (ms) the index
-- keeps each RecordingSid (sorted set)
-- ARGV[1] what is known of the recording (JSON object with its `sid`; `status` optional),
-- ARGV[2] seconds the call's recordings are kept, ARGV[3] the ConferenceSid, ARGV[4] now (ms)
--
-- Returns applied | archived (applied, and queued for the archive record: the archiver has
-- read the call already) | stale (older than what is known: nothing changes) | unchanged.
--
-- Why: Twilio's recording callbacks arrive out of order and late (a `completed` with its
-- duration once the file is processed, possibly after the call was archived; a retried
-- `in-progress` after it). A recording goes in-progress <-> paused (a payment), then
-- stopped, processing, and ends completed, absent or failed; nothing comes back from an
-- end. An equal rank (a pause, a resume) takes the newest arrival, as before.

local RECS, INDEX, SEAL, LATE, INDEX_UNTIL = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local rec = cjson.decode(ARGV[1])
local ttl = tonumber(ARGV[2])
local sid = ARGV[3]
local now = tonumber(ARGV[4])
-- Index entries forgotten per change, at most: each change prunes more than it adds, so the
-- index holds the recordings of the last ARGV[2] seconds, not every one the floor ever made.
local PRUNE = 100

local gone = redis.call('ZRANGEBYSCORE', INDEX_UNTIL, '-inf', now, 'LIMIT', 0, PRUNE)
if #gone > 0 then
  redis.call('HDEL', INDEX, unpack(gone))
  redis.call('ZREM', INDEX_UNTIL, unpack(gone))
end
local RANK = {['in-progress'] = 1, paused = 1, stopped = 2, processing = 3,
  completed = 4, absent = 4, failed = 4}

local raw = redis.call('HGET', RECS, rec.sid)
local current = {}
if raw then current = cjson.decode(raw) end
if rec.status ~= nil and current.status ~= nil then
  local was, now = RANK[current.status] or 0, RANK[rec.status] or 0
  if now < was then return 'stale' end
  -- The first end is the end: a different end after it (or a repeat) changes nothing.
  if was == 4 and rec.status ~= current.status then return 'stale' end
end
local changed = raw == nil
for k, v in pairs(rec) do
  if current[k] ~= v then
    current[k] = v
    changed = true
  end
end
if not changed then return 'unchanged' end
redis.call('HSET', RECS, rec.sid, cjson.encode(current))
redis.call('EXPIRE', RECS, ttl)
redis.call('HSET', INDEX, rec.sid, sid)
redis.call('ZADD', INDEX_UNTIL, now + ttl * 1000, rec.sid)
if redis.call('EXISTS', SEAL) == 1 then
  redis.call('RPUSH', LATE, cjson.encode({k = 'recording', sid = sid, recording = current}))
  return 'archived'
end
return 'applied'
