-- Who is who in a conference TaskRouter made (issue 12).
--
-- TaskRouter's conference instruction names the conference for the task
-- (FriendlyName = TaskSid) and labels nobody, so Earpiece learns the roles
-- from the task: the participant whose CallSid is the task's `call_sid` is the
-- customer, and the one other unlabelled leg is the worker who accepted it
-- (mapped to a roster agent). Labels written here are kept by apply.lua, which
-- sets a label only while it is empty, so every reader of roles (the floor,
-- whisper, help, the guard, alerts) works as on a labelled conference.
--
-- It runs from either side, whichever comes second completing the link: after
-- a join reaches an unlabelled participant of a conference named WT…, and
-- after TaskRouter's reservation.accepted.
--
-- Every key it touches is passed in KEYS (Redis Cluster's rule, issue 24 §5). The
-- conference's key depends on data in Redis (the task's call, then the call index), so
-- Python reads those first (live/queues.py `_task_keys`) and passes the key they name; this
-- checks that what it would touch is among the keys given, before it touches it, and
-- answers `retry` otherwise (the data moved between the read and the call: Python reads
-- again and calls again, a bounded number of times).
--
-- As a script: KEYS[1] the call index (hash CallSid -> ConferenceSid), KEYS[2] the feed,
-- KEYS[3..] the task's registers and the conference's document (when Python found one);
-- ARGV[1] the floor's hash tag, ARGV[2] the TaskSid, ARGV[3] the ConferenceSid or ""
-- (found from the task's call when empty), ARGV[4] a CallSid whose label to return or "",
-- ARGV[5] feed MAXLEN. live/taskrouter.lua runs the same function after a
-- reservation.accepted, in the same call (live/queues.py puts it in front).
-- Returns {that CallSid's label or "", "CallSid label,..." newly labelled, ConferenceSid,
-- "ok" | "retry"}.

-- The keys this call was given: every one a script here touches must be among them.
local given = {}
for _, name in ipairs(KEYS) do given[name] = true end

local function link_task(tag, task, sid, ask, maxlen)
  local tkey = tag .. ':tr:task:' .. task
  if not given[tkey] then return {'', '', '', 'retry'} end
  local t = redis.call('HMGET', tkey, 'call', 'agent', 'caller')
  local call, agent, caller = t[1], t[2], t[3]
  if sid == '' then
    if not call then return {'', '', '', 'ok'} end
    sid = redis.call('HGET', tag .. ':calls', call)
    if not sid then return {'', '', '', 'ok'} end
  end
  local key = tag .. ':conf:' .. sid
  if not given[key] then return {'', '', sid, 'retry'} end
  local raw = redis.call('GET', key)
  if not raw then return {'', '', sid, 'ok'} end
  local c = cjson.decode(raw)
  if c.fn ~= task or c.status == 'completed' then return {'', '', sid, 'ok'} end

  local changed, newly = false, {}
  if c.task ~= task then c.task = task; changed = true end
  local has_agent = false
  for _, p in pairs(c.p or {}) do
    if agent and p.label == 'agent:' .. agent then has_agent = true end
  end
  local ids = {}
  for csid in pairs(c.p or {}) do table.insert(ids, csid) end
  table.sort(ids)  -- the same choice whatever order the legs were stored in
  for _, csid in ipairs(ids) do
    local p = c.p[csid]
    if p.label == nil or p.label == '' then
      local want = nil
      if call and csid == call then
        want = 'customer'
      elseif agent and not has_agent then
        want = 'agent:' .. agent
        has_agent = true
      end
      if want then
        p.label = want
        p.from_task = true
        changed = true
        table.insert(newly, csid .. ' ' .. want)
      end
    end
    if call and csid == call and caller and not p.number then
      p.number = caller  -- the task's attributes have it: no need to ask Twilio
      changed = true
    end
  end
  if changed then
    local doc = cjson.encode(c)
    redis.call('SET', key, doc, 'KEEPTTL')
    feed_add(tag .. ':feed', maxlen, 'conference', sid, doc)
  end
  local label = ''
  if ask ~= '' and c.p and c.p[ask] then label = c.p[ask].label or '' end
  return {label, table.concat(newly, ','), sid, 'ok'}
end

-- entry: as a script of its own
return link_task(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
