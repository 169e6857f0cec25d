-- An agent's activity change "after this call and its wrap-up" (issue 27): kept beside the
-- worker's registers, claimed exactly once when the call it waits for is over.
--
-- KEYS[1] :tr:after:<WK>   hash: change (JSON, live/after_call.py), task (the WT waited for),
--                          error (why the change failed, after a claim)
-- KEYS[2] :tr:worker:<WK>  the worker's registers (live/taskrouter.lua): phase, task
-- KEYS[3] :tr:afters       set of workers with a change waiting
-- KEYS[4] :feed            an `agent` entry when the change is set, canceled or taken
-- ARGV[1] op: set | cancel | claim | failed
-- ARGV[2] the worker SID; ARGV[3] the change JSON (set) or the error (failed); ARGV[4] MAXLEN
--
-- `claim` runs after every TaskRouter event that moves a worker's hold on a task (its
-- `phase` register, last-writer-wins by the event's time in live/taskrouter.lua). The
-- change is taken once the worker no longer holds the task it waited for: phase none, or
-- another task (the end of the first was lost or came late). The take deletes the change
-- in the same step as it reads it, so a repeated event, an event out of order, or two
-- processes claiming together take it once at most: whoever gets it acts, nobody else.
-- A `set` while the worker holds no task answers `now` and keeps nothing (the caller acts
-- at once).

local op, worker = ARGV[1], ARGV[2]

local function announce()
  feed_add(KEYS[4], ARGV[4], 'agent', worker, '{}')
end

local r = redis.call('HMGET', KEYS[2], 'phase', 'task')
local holds = (r[1] == 'assigned' or r[1] == 'wrapping') and r[2] and r[2] ~= ''

if op == 'set' then
  if not holds then return {'now', ''} end
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'change', ARGV[3], 'task', r[2])
  redis.call('SADD', KEYS[3], worker)
  announce()
  return {'pending', r[2]}
elseif op == 'cancel' then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'none', ''} end
  local had = redis.call('HGET', KEYS[1], 'change') or ''
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], worker)
  announce()
  return {'canceled', had}
elseif op == 'claim' then
  local p = redis.call('HMGET', KEYS[1], 'change', 'task')
  if not p[1] then return {'none', ''} end
  if holds and r[2] == p[2] then return {'waiting', ''} end
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], worker)
  announce()
  return {'claimed', p[1]}
elseif op == 'failed' then
  redis.call('HSET', KEYS[1], 'error', ARGV[3])
  redis.call('SADD', KEYS[3], worker)
  announce()
  return {'failed', ''}
end
return redis.error_reply('unknown op ' .. op)
