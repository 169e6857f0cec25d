-- Apply a batch of TaskRouter events to the live queues and agents (issue 12).
--
-- KEYS[1] known TaskQueues: hash WQ -> name, KEYS[2] the change feed, KEYS[3] the call
-- index (what live/taskrouter_link.lua reads), KEYS[4] :tr:tasks, KEYS[5] :tr:workers,
-- KEYS[6] :tr:activities; KEYS[7..] every other key the batch's events touch (below), as
-- live/queues.py `_task_keys` found them.
-- ARGV[1] the floor's hash tag, e.g. "{ep}": every key below starts with it
-- ARGV[2] seconds a finished task and a day's counters are kept
-- ARGV[3] the change feed's MAXLEN: a queue or worker that changed gets a `queue` or
--         `agent` entry on :feed (whose readers render it whole, live/feed.py)
-- ARGV[4..] the events, JSON (live/queues.py `script_event`)
-- Returns {outcome1, linked1, outcome2, linked2, ...}: `applied`, `unchanged` or `retry`,
-- and what a reservation.accepted labelled in its conference (see the end of this file).
-- live/queues.py puts live/taskrouter_link.lua's function (link_task) in front of this.
--
-- Keys, all under the tag:
--   :tr:task:<WT>           hash of registers (core/documents.py TASK)
--   :tr:tasks               set of live tasks (not completed, canceled or deleted)
--   :tr:waiting:<WQ>        sorted set task -> ms it entered the queue, while waiting
--   :tr:day:<day>:<WQ>      hash of the day's counters: entered, answered, abandoned,
--                           answered_in_sl, wait_ms (sum of waits of answered tasks)
--   :tr:slots:<day>:<WQ>    the same per half hour it entered: "<0..47>:<counter>"
--   :tr:worker:<WK>         hash of a worker's registers (core/documents.py WORKER);
--                           :tr:workers, the set of them
--   :tr:activities          hash activity name -> 1 | 0 (available or not)
--   :conf:<CF>              the conference a reservation.accepted labels
--
-- Every key is passed in KEYS (Redis Cluster's rule, issue 24 §5). Which queue's waiting
-- set, which day's counters and which conference an event touches depend on the task's
-- registers in Redis, so live/queues.py reads those first and passes the keys they and the
-- event can name. Each event works out the keys it will touch before it writes anything;
-- if one was not given (another event moved the task between that read and this call),
-- it answers `retry` having changed nothing, and Python reads and calls again.
--
-- TaskRouter's events have no SequenceNumber and come late, twice and out of
-- order. Every field is a last-writer-wins register keyed by the event's time
-- (ms) and, for a task's status, by how far along its life the status is, so
-- a later status wins a tie. What is derived (waiting or not, which day and
-- queue a task counts in, answered, abandoned, within service level) is
-- worked out from the registers after each event, and the day's counters move
-- by the difference from what the task counted before. So any order, and any
-- repeat, of the same events leaves the same state (a retried event is one more
-- arrival order).

local QUEUES = KEYS[1]
local tag = ARGV[1]
local keep = tonumber(ARGV[2])
local maxlen = ARGV[3]
local out = {}

local function announce(kind, sid)
  feed_add(tag .. ':feed', maxlen, kind, sid, '{}')
end

local function num(v) if v then return tonumber(v) end return nil end

local function classify(t)
  -- day|queue|answered|abandoned|in_sl|wait_ms, or "" when the task counts nowhere yet
  if not t.q or not t.day then return '' end
  local answered = t.acc and 1 or 0
  local abandoned = (answered == 0 and t.st == 'canceled') and 1 or 0
  local wait, in_sl = 0, 0
  if answered == 1 and t.entered then
    wait = math.max(0, t.acc - t.entered)
    if wait <= t.sl then in_sl = 1 end
  end
  return table.concat({t.day, t.q, answered, abandoned, in_sl, wait, t.slot or ''}, '|')
end

local function parse(cls)
  -- (a class written before half hours were counted has no slot: it counts in the day only)
  return string.match(cls, '^([^|]*)|([^|]*)|(%d+)|(%d+)|(%d+)|(%d+)|?(%d*)$')
end

-- The keys count(cls) touches.
local function counter_keys(cls, into)
  if cls == '' then return end
  local day, q, _, _, _, _, slot = parse(cls)
  table.insert(into, tag .. ':tr:day:' .. day .. ':' .. q)
  if slot ~= '' then table.insert(into, tag .. ':tr:slots:' .. day .. ':' .. q) end
end

local function count(cls, sign)
  if cls == '' then return end
  local day, q, answered, abandoned, in_sl, wait, slot = parse(cls)
  local key = tag .. ':tr:day:' .. day .. ':' .. q
  -- The same counters per half hour of the day it entered its queue (the Day page's
  -- charts): one hash per queue and day, fields "<slot>:<counter>".
  local skey = tag .. ':tr:slots:' .. day .. ':' .. q
  local function add(field, n)
    redis.call('HINCRBY', key, field, n)
    if slot ~= '' then redis.call('HINCRBY', skey, slot .. ':' .. field, n) end
  end
  add('entered', sign)
  if answered == '1' then
    add('answered', sign)
    add('wait_ms', sign * tonumber(wait))
  end
  if abandoned == '1' then add('abandoned', sign) end
  if in_sl == '1' then add('answered_in_sl', sign) end
  redis.call('EXPIRE', key, keep)
  if slot ~= '' then redis.call('EXPIRE', skey, keep) end
end

local function apply_task(e)
  local key = tag .. ':tr:task:' .. e.task
  if not given[key] then return nil end
  local r = redis.call('HMGET', key, 'st', 'st_at', 'st_rank', 'q', 'q_at', 'entered', 'day',
    'acc', 'cls', 'sl', 'worker', 'call', 'caller', 'prio_at', 'slot')
  local t = {st = r[1], st_at = num(r[2]), st_rank = num(r[3]), q = r[4], q_at = num(r[5]),
             entered = num(r[6]), day = r[7], acc = num(r[8]), cls = r[9] or '',
             sl = num(r[10]), worker = r[11], slot = r[15]}
  local before = {t.st, t.q, t.entered, t.acc, t.worker}
  local set = {}
  if e.status and (not t.st_at or e.at > t.st_at or (e.at == t.st_at and e.rank > t.st_rank)) then
    t.st, t.st_at, t.st_rank = e.status, e.at, e.rank
    table.insert(set, 'st'); table.insert(set, e.status)
    table.insert(set, 'st_at'); table.insert(set, e.at)
    table.insert(set, 'st_rank'); table.insert(set, e.rank)
  end
  local old_q = t.q
  local took_queue = false
  if e.queue and (not t.q_at or e.at > t.q_at or (e.at == t.q_at and e.queue > t.q)) then
    -- The queue, when it entered it, the day it counts in and the queue's service level
    -- travel together (a tie in time goes to the greater SID: any rule, as long as one).
    t.q, t.q_at, t.sl = e.queue, e.at, e.sl
    took_queue = true
    table.insert(set, 'q'); table.insert(set, e.queue)
    table.insert(set, 'q_at'); table.insert(set, e.at)
    table.insert(set, 'sl'); table.insert(set, e.sl)
    if e.entered then
      t.entered, t.day, t.slot = e.entered, e.day, e.slot and tostring(e.slot) or nil
      table.insert(set, 'entered'); table.insert(set, e.entered)
      table.insert(set, 'day'); table.insert(set, e.day)
      if e.slot then table.insert(set, 'slot'); table.insert(set, e.slot) end
    end
  elseif not t.entered and e.entered and e.queue == t.q then
    t.entered, t.day, t.slot = e.entered, e.day, e.slot and tostring(e.slot) or nil
    table.insert(set, 'entered'); table.insert(set, e.entered)
    table.insert(set, 'day'); table.insert(set, e.day)
    if e.slot then table.insert(set, 'slot'); table.insert(set, e.slot) end
  end
  -- The agent who accepted: from the event's worker attributes, else the one Redis knows
  -- that worker is (a repair reads a worker's attributes only when it must).
  local agent = e.agent
  if e.accepted and not agent and e.worker then
    local wkey = tag .. ':tr:worker:' .. e.worker
    if not given[wkey] then return nil end
    agent = redis.call('HGET', wkey, 'agent') or nil
  end
  if e.accepted and (not t.acc or e.at < t.acc or (e.at == t.acc and (e.worker or '') < (t.worker or ''))) then
    -- The first acceptance answered the call (and says whose it was).
    t.acc, t.worker = e.at, e.worker or t.worker
    table.insert(set, 'acc'); table.insert(set, e.at)
    if e.worker then table.insert(set, 'worker'); table.insert(set, e.worker) end
    if agent then table.insert(set, 'agent'); table.insert(set, agent) end
  elseif e.accepted and e.worker and not t.worker then
    -- An acceptance that named nobody came first (an older repair): whose it was, from
    -- one that names the worker, whatever their order.
    t.worker = e.worker
    table.insert(set, 'worker'); table.insert(set, e.worker)
    if agent then table.insert(set, 'agent'); table.insert(set, agent) end
  end
  -- The caller's call and number do not change in a task's life.
  if e.call and not r[12] then table.insert(set, 'call'); table.insert(set, e.call) end
  if e.caller and not r[13] then table.insert(set, 'caller'); table.insert(set, e.caller) end
  if not r[14] or e.at > tonumber(r[14]) then
    table.insert(set, 'prio'); table.insert(set, e.prio or 0)
    table.insert(set, 'prio_at'); table.insert(set, e.at)
  end

  -- Every key the writes below touch, known before any of them: each must have been given.
  local cls = classify(t)
  local touched = {}
  if cls ~= t.cls then
    counter_keys(t.cls, touched)
    counter_keys(cls, touched)
  end
  if old_q then table.insert(touched, tag .. ':tr:waiting:' .. old_q) end
  if t.q then table.insert(touched, tag .. ':tr:waiting:' .. t.q) end
  if e.accepted then
    -- the conference the link labels: the task's call's (the call is set below, if new)
    local call = r[12] or e.call
    local sid = call and redis.call('HGET', tag .. ':calls', call)
    if sid then table.insert(touched, tag .. ':conf:' .. sid) end
  end
  for _, name in ipairs(touched) do
    if not given[name] then return nil end
  end

  if took_queue and e.queue_name then
    redis.call('HSET', QUEUES, e.queue, e.queue_name)
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end

  if e.accepted then
    -- Who is who in the conference TaskRouter made for it (live/taskrouter_link.lua), in
    -- this same call: no second round trip on the webhook's path.
    local linked = link_task(tag, e.task, '', '', maxlen)
    if linked[2] ~= '' then t.linked = linked[3] .. '|' .. linked[2] end
  end
  if cls ~= t.cls then
    count(t.cls, -1)
    count(cls, 1)
    redis.call('HSET', key, 'cls', cls)
  end
  local waiting = (t.st == 'pending' or t.st == 'reserved') and t.q ~= nil
  if old_q and old_q ~= t.q then redis.call('ZREM', tag .. ':tr:waiting:' .. old_q, e.task) end
  if t.q then
    local wkey = tag .. ':tr:waiting:' .. t.q
    if waiting then
      redis.call('ZADD', wkey, t.entered or e.at, e.task)
    else
      redis.call('ZREM', wkey, e.task)
    end
  end
  local finished = t.st == 'completed' or t.st == 'canceled' or t.st == 'deleted'
  if finished then
    redis.call('SREM', tag .. ':tr:tasks', e.task)
    redis.call('EXPIRE', key, keep)
  else
    redis.call('SADD', tag .. ':tr:tasks', e.task)
  end
  local after = {t.st, t.q, t.entered, t.acc, t.worker}
  local changed = cls ~= t.cls
  for i = 1, 5 do if before[i] ~= after[i] then changed = true end end
  if changed then
    if t.q then announce('queue', t.q) end
    if old_q and old_q ~= t.q then announce('queue', old_q) end
  end
  return changed, t.linked or ''
end

local function apply_worker(e)
  local key = tag .. ':tr:worker:' .. e.worker
  redis.call('SADD', tag .. ':tr:workers', e.worker)
  local r = redis.call('HMGET', key, 'act', 'act_at', 'since', 'phase', 'phase_at', 'task',
    'phase_rank')
  local before = table.concat({r[1] or '', r[3] or '', r[4] or '', r[6] or ''}, '|')
  local set = {}
  if e.name then table.insert(set, 'name'); table.insert(set, e.name) end
  if e.agent then table.insert(set, 'agent'); table.insert(set, e.agent) end
  local act_at = num(r[2])
  if e.activity and (not act_at or e.at > act_at or (e.at == act_at and e.activity > r[1])) then
    table.insert(set, 'act'); table.insert(set, e.activity)
    table.insert(set, 'act_at'); table.insert(set, e.at)
  end
  if e.activity_changed and (not r[3] or e.at > tonumber(r[3])) then
    table.insert(set, 'since'); table.insert(set, e.at)
  end
  local phase_at, phase_rank = num(r[5]), num(r[7])
  -- A tie of time and rank (two tasks reserving one worker in the same ms) goes to the
  -- greater task SID: whatever their arrival order, every process keeps the same one.
  local phase_task = e.phase == 'none' and '' or (e.task or '')
  if e.phase and (not phase_at or e.at > phase_at
                  or (e.at == phase_at and (e.phase_rank > phase_rank
                      or (e.phase_rank == phase_rank and phase_task > (r[6] or ''))))) then
    table.insert(set, 'phase'); table.insert(set, e.phase)
    table.insert(set, 'phase_at'); table.insert(set, e.at)
    table.insert(set, 'phase_rank'); table.insert(set, e.phase_rank)
    table.insert(set, 'task'); table.insert(set, phase_task)
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
  local r2 = redis.call('HMGET', key, 'act', 'since', 'phase', 'task')
  local changed = before ~= table.concat({r2[1] or '', r2[2] or '', r2[3] or '', r2[4] or ''}, '|')
  if changed then announce('agent', e.worker) end
  return changed
end

for i = 4, #ARGV do
  local e = cjson.decode(ARGV[i])
  local changed, linked = false, ''
  -- (nil: a key it needs was not given; nothing was written: `retry`)
  local done = not (e.worker and not given[tag .. ':tr:worker:' .. e.worker])
  if done and e.task then
    local task_changed
    task_changed, linked = apply_task(e)
    done = task_changed ~= nil
    changed = task_changed or false
  end
  if done and e.worker then changed = apply_worker(e) or changed end
  if done and e.activity_available ~= nil and e.activity then
    redis.call('HSET', tag .. ':tr:activities', e.activity, e.activity_available and 1 or 0)
  end
  if not done then
    table.insert(out, 'retry')
  else
    table.insert(out, changed and 'applied' or 'unchanged')
  end
  -- (live/batching.py reads pairs): the conference a reservation.accepted labelled, and
  -- the legs it labelled, "ConferenceSid|CallSid label,..."; else ""
  table.insert(out, linked or '')
end
return out
